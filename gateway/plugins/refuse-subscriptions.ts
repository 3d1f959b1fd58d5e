import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError } from "graphql";
import { ErrorCode } from "../../lib/errors";

/**
 * The gateway executes queries and mutations only; a `subscription` operation is refused with a
 * coded error before planning (Apollo's gateway would fail it with HTTP 500). Changes are followed
 * with `events(after: $cursor)` instead.
 */
export function refuseSubscriptionsPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation }) {
          if (operation?.operation !== "subscription") return;
          throw new GraphQLError("subscriptions are not served here: follow changes with `events(after: $cursor)` (poll it with the last endCursor)", {
            extensions: { code: ErrorCode.OPERATION_NOT_SUPPORTED, http: { status: 400 } },
          });
        },
      };
    },
  };
}
