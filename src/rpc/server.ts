/**
 * RpcServer: the JSON-RPC 2.0 HTTP API of a TaskQueue (SPEC §7), a service application of the
 * arbiter. It reaches its TaskQueue only through `context.queue(name)`: in an arbiter, actor
 * messages to the queue's monitor.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AppContext, ServiceApp } from '../app/app.js';
import { ImproperlyConfigured } from '../model/errors.js';
import { isJsonObject, type Json, type JsonObject } from '../model/json.js';
import { getLogger, type Logger } from '../infra/logger.js';
import { clientUrl, isLoopback, parseBind, type BindAddress } from './bind.js';
import { dispatchBody } from './dispatch.js';
import { RequestErrorLog } from './error-log.js';
import { allowedCorsOrigin, checkContentType, checkHost, checkOrigin, corsHeaders, parseHostName, parseOrigin, preflightHeaders, type GuardSettings } from './guards.js';
import { discardBody, hasBearerToken, readBody, sendJson } from './http.js';
import { rpcMethod, rpcMethodNames, type CallContext } from './methods.js';
import type { HttpRoute } from '../infra/http-route.js';
import { metricsHub } from '../metrics/hub.js';
import { metricsRoute } from '../metrics/route.js';
import { dashboardRoute } from '../dashboard/route.js';
import { errorResponse, RPC_CODES } from './protocol.js';
import { WaitSlots } from './wait-slots.js';

/** The environment variable a token is read from when the options give none. */
export const RPC_TOKEN_ENV = 'PULSAR_TASKS_RPC_TOKEN';

/** Settings of an RpcServer. */
export interface RpcServerOptions {
  /** The application's name in the arbiter (default `rpc`). */
  name?: string;
  /** The TaskQueue it serves (default `taskqueue`). */
  taskqueue?: string;
  /** `HOST:PORT` (default `127.0.0.1:8060`); port 0 picks a free port. */
  bind?: string;
  /** Required as `Authorization: Bearer <token>`; default `$PULSAR_TASKS_RPC_TOKEN`. */
  token?: string;
  /** Allows a non-loopback bind without a token. */
  insecure?: boolean;
  /**
   * Origins (`https://app.example.com`) whose browser pages may call the server (CORS). Any other
   * `Origin` is refused, except the server's own.
   */
  cors?: string[];
  /**
   * Host names (the `Host` header) served besides loopback names and the bind host; ignored when a
   * token is required. Guards against DNS rebinding; `*` turns the guard off.
   */
  allowedHosts?: string[];
  /** Requests that may wait at once (`wait_for_task`, default 1000); more are refused. */
  maxWaiters?: number;
  /** Largest request body in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /** Meta data added to every task queued by a request (such as the caller); must be plain JSON. */
  taskRequestParameters?: (request: http.IncomingMessage) => JsonObject;
  /** Serves `GET /metrics` (Prometheus) and counts tasks for it (default true). */
  metrics?: boolean;
  /** Serves the dashboard at `/dashboard/` (default false); its data and actions go through JSON-RPC. */
  dashboard?: boolean;
  /** More GET routes beside JSON-RPC, behind the same token. */
  routes?: HttpRoute[];
}

const DEFAULT_MAX_BODY = 1024 * 1024;
const DEFAULT_MAX_WAITERS = 1000;
/** Milliseconds requests in flight get to finish when the server stops. */
const STOP_GRACE_MS = 2000;

/** The JSON-RPC server of a TaskQueue. */
export class RpcServer implements ServiceApp {
  readonly kind = 'service' as const;
  readonly name: string;
  /** The name of the TaskQueue it serves. */
  readonly taskqueue: string;
  readonly bind: BindAddress;
  readonly insecure: boolean;
  readonly maxBodyBytes: number;
  readonly maxWaiters: number;
  private readonly waitSlots: WaitSlots;
  private readonly token: string | undefined;
  private readonly guards: GuardSettings;
  private readonly taskRequestParameters: RpcServerOptions['taskRequestParameters'];
  private server: http.Server | null = null;
  private context: AppContext | null = null;
  private log: Logger;
  private errorLog: RequestErrorLog;
  private readonly inFlight = new Set<Promise<void>>();
  private requests = 0;
  private readonly routes: HttpRoute[];

  constructor(options: RpcServerOptions = {}) {
    this.name = options.name ?? 'rpc';
    this.taskqueue = options.taskqueue ?? 'taskqueue';
    this.bind = parseBind(options.bind ?? '127.0.0.1:8060');
    this.token = options.token || process.env[RPC_TOKEN_ENV] || undefined;
    this.insecure = options.insecure ?? false;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
    if (!Number.isInteger(this.maxBodyBytes) || this.maxBodyBytes < 1) {
      throw new ImproperlyConfigured(`RpcServer "${this.name}": maxBodyBytes must be a positive integer, got ${String(options.maxBodyBytes)}`);
    }
    this.maxWaiters = options.maxWaiters ?? DEFAULT_MAX_WAITERS;
    if (!Number.isInteger(this.maxWaiters) || this.maxWaiters < 1) {
      throw new ImproperlyConfigured(`RpcServer "${this.name}": maxWaiters must be a positive integer, got ${String(options.maxWaiters)}`);
    }
    this.waitSlots = new WaitSlots(this.maxWaiters);
    this.taskRequestParameters = options.taskRequestParameters;
    this.routes = [...(options.metrics === false ? [] : [metricsRoute()]), ...(options.dashboard ? [dashboardRoute()] : []), ...(options.routes ?? [])];
    this.guards = {
      corsOrigins: new Set((options.cors ?? []).map(parseOrigin)),
      allowedHosts: new Set((options.allowedHosts ?? []).map(parseHostName)),
      bindHost: this.bind.host,
      tokenRequired: this.token !== undefined,
    };
    this.log = getLogger(`pulsar.${this.name}`);
    this.errorLog = new RequestErrorLog(this.log);
  }

  /** True when clients must send a bearer token. */
  get requiresToken(): boolean {
    return this.token !== undefined;
  }

  /** The bound address once started, else null. */
  address(): AddressInfo | null {
    const address = this.server?.address();
    return address && typeof address === 'object' ? address : null;
  }

  /** The URL clients use, with the bound port once started. */
  get url(): string {
    return clientUrl(this.bind.host, this.address()?.port ?? this.bind.port);
  }

  /** The dashboard's URL when it is served, else null. */
  get dashboardUrl(): string | null {
    return this.routes.some((r) => r.matches('/dashboard/')) ? `${this.url}/dashboard/` : null;
  }

  /**
   * Throws ImproperlyConfigured for a bind other hosts can reach without a token, unless
   * `insecure`: queueing tasks is running code on this machine.
   */
  assertSafeBind(): void {
    if (this.token || this.insecure || isLoopback(this.bind.host)) return;
    throw new ImproperlyConfigured(
      `RpcServer "${this.name}" refuses to bind ${this.bind.host}:${this.bind.port} (reachable from other machines) without a token: ` +
        `set a token (--rpc-token or ${RPC_TOKEN_ENV}), bind 127.0.0.1, or allow it with insecure: true (--rpc-insecure)`,
    );
  }

  /** Listens; rejects when the bind is unsafe, the port is taken, or the TaskQueue is unknown. */
  async start(context: AppContext): Promise<void> {
    if (this.server) throw new ImproperlyConfigured(`RpcServer "${this.name}" is already started`);
    this.assertSafeBind();
    context.queue(this.taskqueue); // throws ImproperlyConfigured naming the queue when there is none
    this.context = context;
    this.log = context.logger;
    this.errorLog = new RequestErrorLog(this.log);
    const server = http.createServer((req, res) =>
      this.track(
        this.handle(req, res).catch((err: unknown) => {
          this.errorLog.serverError('request', err);
          sendJson(res, 500, errorResponse(null, { code: RPC_CODES.INTERNAL_ERROR, message: 'Internal error' }));
        }),
      ),
    );
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        reject(new ImproperlyConfigured(`RpcServer "${this.name}" cannot listen on ${this.bind.host}:${this.bind.port}: ${err.message}`, { cause: err }));
      };
      server.once('error', onError);
      server.listen(this.bind.port, this.bind.host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (err) => this.log.error(`HTTP server error: ${err.message}`));
    this.server = server;
    await Promise.all(this.routes.map((route) => route.start?.()));
    this.log.info(`JSON-RPC server listening on ${this.url}${this.token ? ' (bearer token required)' : ''}`);
    if (this.dashboardUrl) this.log.info(`dashboard at ${this.dashboardUrl}`);
  }

  /** Stops listening, lets requests in flight finish briefly, then closes every connection. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const route of this.routes) route.stop?.();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    if (this.inFlight.size) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS)));
      await Promise.race([Promise.allSettled([...this.inFlight]), grace]);
      clearTimeout(timer);
    }
    server.closeAllConnections();
    await closed;
    this.log.info('JSON-RPC server stopped');
  }

  /** Its URL and settings (part of `server_info`). */
  info(): Json {
    return {
      url: this.url,
      taskqueue: this.taskqueue,
      listening: this.server !== null,
      token_required: this.requiresToken,
      cors_origins: [...this.guards.corsOrigins],
      max_body_bytes: this.maxBodyBytes,
      requests: this.requests,
      waiting: this.waitSlots.waiting,
      max_waiters: this.maxWaiters,
    };
  }

  /** Counts each JSON-RPC call in `pulsar_rpc_requests_total` (method names the server knows only). */
  private readonly observe = (method: string, code: number): void => {
    metricsHub().metrics.rpcRequests.inc({ method: rpcMethod(method) || method.startsWith('(') ? method : '(unknown)', code: String(code) });
  };

  private track(work: Promise<void>): void {
    const tracked = work.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private drainCap(): number {
    return Math.max(this.maxBodyBytes * 4, 16 * 1024 * 1024);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.requests++;
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const origin = allowedCorsOrigin(req, this.guards);
    const cors = origin ? corsHeaders(origin) : {};
    if (req.method === 'OPTIONS') {
      if (!origin) return this.refuse(req, res, 403, RPC_CODES.INVALID_REQUEST, 'Forbidden: CORS is allowed only for the origins listed with --rpc-cors');
      await discardBody(req, this.drainCap());
      return sendJson(res, 204, undefined, preflightHeaders(origin));
    }
    const refusal = checkHost(req, this.guards) ?? checkOrigin(req, this.guards);
    if (refusal) return this.refuse(req, res, refusal.status, RPC_CODES.INVALID_REQUEST, refusal.message, cors);
    // The dashboard's files hold no data: served without the token (after the Host/Origin checks).
    const route = this.routes.find((r) => r.matches(path));
    if (route?.public) return this.serveRoute(req, res, route, path);
    if (this.token && !hasBearerToken(req, this.token)) {
      return this.refuse(req, res, 401, RPC_CODES.UNAUTHORIZED, 'Unauthorized: send Authorization: Bearer <token>', {
        ...cors,
        'WWW-Authenticate': 'Bearer realm="pulsar-tasks"',
      });
    }
    if (route) return this.serveRoute(req, res, route, path);
    if (path !== '/') return this.refuse(req, res, 404, RPC_CODES.INVALID_REQUEST, `Not found: POST JSON-RPC requests to /`, cors);
    if (req.method === 'GET' || req.method === 'HEAD') {
      await discardBody(req, this.drainCap());
      return sendJson(
        res,
        200,
        {
          service: 'pulsar-tasks JSON-RPC 2.0',
          usage: `POST {"jsonrpc":"2.0","id":1,"method":"ping"} with Content-Type: application/json to ${this.url}/`,
          taskqueue: this.taskqueue,
          methods: rpcMethodNames(),
        },
        cors,
      );
    }
    if (req.method !== 'POST') {
      return this.refuse(req, res, 405, RPC_CODES.INVALID_REQUEST, `Method ${String(req.method)} not allowed: use POST`, { ...cors, Allow: 'GET, POST' });
    }
    const badType = checkContentType(req);
    if (badType) return this.refuse(req, res, badType.status, RPC_CODES.INVALID_REQUEST, badType.message, cors);
    const read = await readBody(req, this.maxBodyBytes, this.drainCap());
    if (read.kind === 'aborted') return;
    if (read.kind === 'too-large') {
      const error = { code: RPC_CODES.INVALID_REQUEST, message: `Invalid Request: the body exceeds ${this.maxBodyBytes} bytes` };
      sendJson(res, 413, errorResponse(null, error), { ...cors, Connection: 'close' });
      // Undrained bytes are still coming: stop them once the answer is out.
      if (!read.drained) res.once('finish', () => req.socket.destroy());
      return;
    }
    const result = await dispatchBody(read.text, this.callContext(req), this.errorLog);
    sendJson(res, result === null ? 204 : 200, result ?? undefined, cors);
  }

  private async serveRoute(req: http.IncomingMessage, res: http.ServerResponse, route: HttpRoute, path: string): Promise<void> {
    if (!(await discardBody(req, this.drainCap()))) return this.refuse(req, res, 413, RPC_CODES.INVALID_REQUEST, 'Request body too large');
    return route.handle(req, res, path);
  }

  private async refuse(req: http.IncomingMessage, res: http.ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}): Promise<void> {
    const drained = await discardBody(req, this.drainCap());
    sendJson(res, status, errorResponse(null, { code, message }), drained ? headers : { ...headers, Connection: 'close' });
    if (!drained) res.once('finish', () => req.socket.destroy());
  }

  private callContext(req: http.IncomingMessage): CallContext {
    const context = this.context;
    if (!context) throw new ImproperlyConfigured(`RpcServer "${this.name}" is not started`);
    let meta: JsonObject | undefined;
    return {
      app: context,
      observe: this.observe,
      queue: () => context.queue(this.taskqueue),
      requestMeta: () => {
        if (meta) return meta;
        const value: unknown = this.taskRequestParameters ? this.taskRequestParameters(req) : {};
        if (!isJsonObject(value)) throw new ImproperlyConfigured(`RpcServer "${this.name}": taskRequestParameters must return a plain JSON object`);
        meta = value;
        return meta;
      },
      waitSlot: () => this.waitSlots.take(),
    };
  }
}
