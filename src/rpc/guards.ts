/**
 * What RpcServer refuses before it reads a request, so that a web page in the user's browser
 * cannot use a server on loopback: a body other than `application/json` (a "simple" cross-site
 * POST needs no preflight), a foreign `Origin`, and (without a token) a `Host` name other than
 * loopback or the configured ones (DNS rebinding). CORS is answered only for listed origins.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { ImproperlyConfigured } from '../model/errors.js';
import { isLoopback } from './bind.js';

/** A refusal: the HTTP status and the one-line reason sent back. */
export interface Refusal {
  status: number;
  message: string;
}

/** The settings the guards apply. */
export interface GuardSettings {
  /** Origins (`scheme://host[:port]`) whose browser pages may call the server (CORS). */
  corsOrigins: ReadonlySet<string>;
  /** Host names accepted besides loopback and the bind host (when no token is required). */
  allowedHosts: ReadonlySet<string>;
  /** The host the server binds. */
  bindHost: string;
  /** With a token, the Host check is not needed: a page cannot forge the token. */
  tokenRequired: boolean;
}

/** Normalises a CORS origin from the settings; throws ImproperlyConfigured naming it. */
export function parseOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ImproperlyConfigured(`Invalid CORS origin ${JSON.stringify(value)}: expected scheme://host[:port], such as https://app.example.com`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search || url.hash || url.username) {
    throw new ImproperlyConfigured(`Invalid CORS origin ${JSON.stringify(value)}: expected scheme://host[:port] only, such as https://app.example.com`);
  }
  return url.origin;
}

/** Normalises an allowed host name from the settings (lower case, no port); `*` allows any. */
export function parseHostName(value: string): string {
  const host = value.trim().toLowerCase();
  if (host === '*') return host;
  if (!/^[a-z0-9.-]+$/.test(host) && isIP(host.replace(/^\[|\]$/g, '')) !== 6) {
    throw new ImproperlyConfigured(`Invalid allowed host ${JSON.stringify(value)}: expected a host name or IP address without port`);
  }
  return host.replace(/^\[|\]$/g, '');
}

/** The host name of a `Host` header (without port and IPv6 brackets), lower case; null if malformed. */
export function hostName(header: string): string | null {
  const text = header.trim().toLowerCase();
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (v6) return isIP(v6[1] as string) === 6 ? (v6[1] as string) : null;
  const m = /^([a-z0-9.-]+)(?::\d+)?$/.exec(text);
  return m ? (m[1] as string) : null;
}

/** The request's `Origin` when it is one the settings list, else undefined. */
export function allowedCorsOrigin(req: IncomingMessage, settings: GuardSettings): string | undefined {
  const origin = req.headers.origin;
  return origin && settings.corsOrigins.has(origin) ? origin : undefined;
}

/** Why the request's Host is refused, or null. */
export function checkHost(req: IncomingMessage, settings: GuardSettings): Refusal | null {
  if (settings.tokenRequired) return null;
  const header = req.headers.host;
  // HTTP/1.0 clients may send none; a browser always does.
  if (header === undefined) return null;
  const name = hostName(header);
  if (settings.allowedHosts.has('*')) return null;
  if (name !== null && (isLoopback(name) || name === settings.bindHost.toLowerCase() || settings.allowedHosts.has(name))) return null;
  return {
    status: 421,
    message: `Misdirected Request: Host ${JSON.stringify(header.slice(0, 100))} is not served here (allowed: loopback names, the bind host, --rpc-allowed-hosts; or set a token)`,
  };
}

/**
 * Why the request's Origin is refused, or null. No Origin (a program, curl) passes; a browser
 * page passes when its origin is listed for CORS or is this very server (same origin).
 */
export function checkOrigin(req: IncomingMessage, settings: GuardSettings): Refusal | null {
  const origin = req.headers.origin;
  if (origin === undefined) return null;
  if (settings.corsOrigins.has(origin)) return null;
  const host = req.headers.host;
  if (host !== undefined && (origin === `http://${host}` || origin === `https://${host}`)) return null;
  return { status: 403, message: `Forbidden: requests from the web page origin ${JSON.stringify(origin.slice(0, 200))} are refused (list it with --rpc-cors to allow it)` };
}

/** Why a POST body's Content-Type is refused, or null: JSON-RPC is `application/json`. */
export function checkContentType(req: IncomingMessage): Refusal | null {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type === 'application/json' || type === 'application/json-rpc') return null;
  return {
    status: 415,
    message: `Unsupported Media Type: send JSON-RPC with Content-Type: application/json${type ? `, not ${type.slice(0, 100)}` : ''}`,
  };
}

/** The headers answering a CORS preflight (`OPTIONS`) from an allowed origin. */
export function preflightHeaders(origin: string): Record<string, string> {
  return {
    ...corsHeaders(origin),
    'Access-Control-Allow-Methods': 'POST, GET',
    'Access-Control-Allow-Headers': 'Content-Type, Authorization',
    'Access-Control-Max-Age': '600',
  };
}

/** The headers of an answer to an allowed cross-origin request. */
export function corsHeaders(origin: string): Record<string, string> {
  return { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' };
}
