// The GraphiQL page's browser code, bundled at build time by scripts/build-graphiql.mjs into
// dist/gateway/graphiql/graphiql.{js,css}: nothing is fetched from anywhere but this origin.
// (JSX rather than TSX so the project's tsc, which has no DOM or JSX settings, leaves it to esbuild.)
import "./variables-lint";
import React, { useEffect, useRef } from "react";
import { createRoot } from "react-dom/client";
import { GraphiQL } from "graphiql";
import { useEditorContext, usePluginStore } from "@graphiql/react";
import { explorerPlugin } from "@graphiql/plugin-explorer";
import { Kind, parse } from "graphql";
import "graphiql/style.css";
import "@graphiql/plugin-explorer/style.css";
import "./page.css";
import { EXAMPLE_QUERIES } from "./examples";

/** The GraphQL endpoint, relative to the page (so a reverse proxy may serve both under a prefix). */
const ENDPOINT = "graphql";

/**
 * GraphiQL takes the operation name from facts it updates a moment after each edit, so a query
 * typed into a fresh tab and run at once goes out with the previous tab's operation name (and
 * fails with "Unknown operation named …"). A name the document does not define is replaced by
 * its only operation's.
 */
export function withDefinedOperationName(params) {
  if (!params.operationName || typeof params.query !== "string") return params;
  let operations;
  try {
    operations = parse(params.query).definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  } catch {
    return params; // the server reports the syntax error
  }
  if (operations.some((op) => op.name?.value === params.operationName) || operations.length !== 1) return params;
  const { operationName, ...rest } = params;
  return operations[0].name ? { ...rest, operationName: operations[0].name.value } : rest;
}

/**
 * Posts one operation as JSON (which passes the server's CSRF prevention) with the headers of
 * GraphiQL's headers editor, e.g. {"Authorization": "Bearer …"}; any reply becomes a result.
 */
async function fetcher(params, options) {
  const res = await fetch(ENDPOINT, {
    method: "POST",
    headers: {
      accept: "application/graphql-response+json, application/json",
      ...(options?.headers ?? {}),
      "content-type": "application/json",
    },
    body: JSON.stringify(withDefinedOperationName(params)),
    credentials: "same-origin",
  });
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    return { errors: [{ message: `HTTP ${res.status} from ${ENDPOINT}: ${text.slice(0, 2000)}` }] };
  }
}

function ExamplesIcon() {
  return (
    <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="1.5" aria-hidden="true">
      <path d="M5 3h10l4 4v14H5z" />
      <path d="M15 3v4h4M8 11h8M8 15h8M8 19h5" />
    </svg>
  );
}

/** A side panel listing the saved example queries; a click opens one in a new tab. */
function ExamplesPanel() {
  const editor = useEditorContext({ nonNull: true });
  const open = (example) => {
    const existing = editor.tabs.findIndex((tab) => tab.query === example.query);
    if (existing >= 0) {
      editor.changeTab(existing);
      return;
    }
    editor.addTab();
    // addTab fills the editors of the new tab when React applies it; fill them after that. The
    // editors' change events store the text in the tab (and name it after the operation).
    setTimeout(() => {
      editor.queryEditor?.setValue(example.query);
      editor.variableEditor?.setValue(example.variables ?? "");
    }, 0);
  };
  return (
    <div className="dbb-examples">
      <div className="graphiql-doc-explorer-title">Examples</div>
      <p className="dbb-examples-intro">
        Saved queries for the Data Backbone. Reads need no token; for mutations put{" "}
        <code>{'{"Authorization": "Bearer <token>"}'}</code> in the Headers tab.
      </p>
      <ul>
        {EXAMPLE_QUERIES.map((example) => (
          <li key={example.title}>
            <button type="button" className="dbb-example" onClick={() => open(example)}>
              <span className="dbb-example-title">{example.title}</span>
              <span className="dbb-example-description">{example.description}</span>
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

const examplesPlugin = { title: "Examples", icon: ExamplesIcon, content: ExamplesPanel };
const explorer = explorerPlugin({ showAttribution: false });

/**
 * Works around two start-up gaps of GraphiQL 4: the first tab's variables stay out of the
 * variables editor (it takes them from the `variables` prop only), and a plugin made visible
 * through the `visiblePlugin` prop stays in a collapsed pane (the pane is hidden when it mounts,
 * before the plugins are registered, and only the sidebar button un-hides it).
 */
function StartUp() {
  const editor = useEditorContext({ nonNull: true });
  const plugins = usePluginStore((state) => state.plugins);
  const done = useRef({ variables: false, explorer: false });
  useEffect(() => {
    if (done.current.variables || !editor.variableEditor) return;
    done.current.variables = true;
    const tab = editor.tabs[editor.activeTabIndex];
    if (tab?.variables && !editor.variableEditor.getValue()) editor.variableEditor.setValue(tab.variables);
  }, [editor.variableEditor]);
  useEffect(() => {
    if (done.current.explorer || !plugins.includes(explorer)) return;
    done.current.explorer = true;
    setTimeout(() => {
      document.querySelector(`.graphiql-sidebar button[aria-label="Show ${explorer.title}"]`)?.click();
    }, 0);
  }, [plugins]);
  return null;
}

/** GraphiQL with the explorer open, one tab per example (unless the browser kept the user's tabs). */
function App() {
  return (
    <GraphiQL
      fetcher={fetcher}
      plugins={[explorer, examplesPlugin]}
      defaultTabs={EXAMPLE_QUERIES.map((e) => ({ query: e.query, variables: e.variables }))}
      defaultEditorToolsVisibility={true}
      isHeadersEditorEnabled={true}
      shouldPersistHeaders={false}
    >
      <GraphiQL.Logo>
        <span className="dbb-logo">
          Data Backbone <span className="dbb-logo-sub">USDF gateway</span>
        </span>
        <StartUp />
      </GraphiQL.Logo>
    </GraphiQL>
  );
}

createRoot(document.getElementById("graphiql")).render(<App />);
