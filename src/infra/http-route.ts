/**
 * Routes an RpcServer serves beside JSON-RPC (`/metrics`, the dashboard): each one behind the
 * same bearer token check as JSON-RPC, which the server makes before it hands a request over
 * (unless the route is public: files without data).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A GET route of the RpcServer's HTTP server. */
export interface HttpRoute {
  /** Served without the token: only for files that hold no data (the dashboard's page and scripts). */
  readonly public?: boolean;
  /** True when this route answers `path` (the URL path without its query). */
  matches(path: string): boolean;
  /** Answers a request whose body was already read off the wire. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void>;
  /** Called when the server starts listening. */
  start?(): Promise<void>;
  /** Called when the server stops. */
  stop?(): void;
}
