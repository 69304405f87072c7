/**
 * `GET /metrics`: the Prometheus text exposition of this process's metrics (prom-client), served
 * by the RpcServer behind its bearer token.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpRoute } from '../infra/http-route.js';
import { metricsHub, type MetricsHub } from './hub.js';

/**
 * The `/metrics` route. Counting starts with the first scrape (a server nobody scrapes pays
 * nothing for it) and goes on while the server runs.
 */
export function metricsRoute(hub: MetricsHub = metricsHub()): HttpRoute {
  let enabled = false;
  return {
    matches: (path) => path === '/metrics',
    async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET', 'Content-Type': 'text/plain; charset=utf-8' }).end('use GET /metrics\n');
        return;
      }
      if (!enabled) {
        enabled = true;
        await hub.enable();
      }
      const body = Buffer.from(await hub.text(), 'utf8');
      res.writeHead(200, { 'Content-Type': hub.metrics.registry.contentType, 'Content-Length': String(body.length), 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    },
    stop: () => {
      if (enabled) hub.disable();
      enabled = false;
    },
  };
}
