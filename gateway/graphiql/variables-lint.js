// The variables pane's lint, as codemirror-graphql's (variables/lint.js) with one change: a custom
// scalar takes any JSON value its server accepts. codemirror-graphql allows only strings, numbers
// and booleans for every scalar, so valid variables of JSONObject arguments (`dids(metadata:)`,
// `datasets(bind:)`, a subscription's `filter`) were marked red. Here JSONObject takes an object,
// JSON any value, and other custom scalars (DateTimeISO, …) any JSON value; the server checks them.
// Imported first by app.jsx: it loads codemirror-graphql's helper, then registers this one over it
// under the same name, before GraphiQL's variable editor (which loads that module later) asks for it.
import CodeMirror from "codemirror";
import "codemirror-graphql/esm/variables/lint.js";
import jsonParse, { JSONSyntaxError } from "codemirror-graphql/esm/utils/jsonParse.js";
import { GraphQLEnumType, GraphQLInputObjectType, GraphQLList, GraphQLNonNull, GraphQLScalarType } from "graphql";

const BUILT_IN = new Set(["Boolean", "String", "ID", "Float", "Int"]);

function lintError(editor, node, message) {
  return { message, severity: "error", type: "validation", from: editor.posFromIndex(node.start), to: editor.posFromIndex(node.end) };
}

/** [node, message] pairs for what in `valueAST` does not fit `type`. */
export function validateValue(type, valueAST) {
  if (!type || !valueAST) return [];
  if (type instanceof GraphQLNonNull) {
    if (valueAST.kind === "Null") return [[valueAST, `Type "${type}" is non-nullable and cannot be null.`]];
    return validateValue(type.ofType, valueAST);
  }
  if (valueAST.kind === "Null") return [];
  if (type instanceof GraphQLList) {
    return valueAST.kind === "Array" ? (valueAST.values || []).flatMap((item) => validateValue(type.ofType, item)) : validateValue(type.ofType, valueAST);
  }
  if (type instanceof GraphQLInputObjectType) {
    if (valueAST.kind !== "Object") return [[valueAST, `Type "${type}" must be an Object.`]];
    const fields = type.getFields();
    const provided = new Set();
    const errors = (valueAST.members || []).flatMap((member) => {
      const name = member?.key?.value;
      provided.add(name);
      const field = fields[name];
      if (!field) return [[member.key, `Type "${type}" does not have a field "${name}".`]];
      return validateValue(field.type, member.value);
    });
    for (const [name, field] of Object.entries(fields)) {
      if (!provided.has(name) && field.type instanceof GraphQLNonNull && field.defaultValue === undefined) {
        errors.push([valueAST, `Object of type "${type}" is missing required field "${name}".`]);
      }
    }
    return errors;
  }
  if (type instanceof GraphQLScalarType && !BUILT_IN.has(type.name)) {
    if (type.name === "JSONObject" && valueAST.kind !== "Object") return [[valueAST, `Expected value of type "${type}": a JSON object.`]];
    return [];
  }
  const wrong =
    (type.name === "Boolean" && valueAST.kind !== "Boolean") ||
    (type.name === "String" && valueAST.kind !== "String") ||
    (type.name === "ID" && valueAST.kind !== "Number" && valueAST.kind !== "String") ||
    (type.name === "Float" && valueAST.kind !== "Number") ||
    (type.name === "Int" && (valueAST.kind !== "Number" || (valueAST.value | 0) !== valueAST.value)) ||
    (type instanceof GraphQLEnumType && (valueAST.kind !== "String" || !type.getValue(valueAST.value)));
  return wrong ? [[valueAST, `Expected value of type "${type}".`]] : [];
}

CodeMirror.registerHelper("lint", "graphql-variables", (text, options, editor) => {
  if (!text) return [];
  let ast;
  try {
    ast = jsonParse(text);
  } catch (error) {
    if (error instanceof JSONSyntaxError) return [lintError(editor, error.position, error.message)];
    throw error;
  }
  const { variableToType } = options;
  if (!variableToType) return [];
  const errors = [];
  for (const member of ast.members) {
    if (!member) continue;
    const name = member.key?.value;
    const type = variableToType[name];
    if (!type) {
      errors.push(lintError(editor, member.key, `Variable "$${name}" does not appear in any GraphQL query.`));
      continue;
    }
    for (const [node, message] of validateValue(type, member.value)) errors.push(lintError(editor, node, message));
  }
  return errors;
});
