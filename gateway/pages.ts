import type http from "node:http";
import { serveGraphiql } from "./graphiql/page";
import { serveStatusPage } from "./status-page/page";

/**
 * The gateway's bundled pages, for GatewayOptions.page: GraphiQL at / and the status page at
 * /status (each with its two assets). Returns false for any other request.
 */
export function servePages(req: http.IncomingMessage, res: http.ServerResponse, url: URL): boolean {
  return serveStatusPage(req, res, url) || serveGraphiql(req, res, url);
}
