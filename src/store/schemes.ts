/**
 * Backend URLs, the registry of store schemes (`taskBackends`), and settings helpers.
 */
import { redactUrl } from '../infra/secrets.js';
import { ImproperlyConfigured } from '../model/errors.js';
import type { TaskStore } from './contract.js';

/** What a store class is given besides its URL. */
export interface StoreOptions {
  /** The application's name. */
  name: string;
}

/** A store class for a URL scheme: `taskBackends.set('mybackend', MyStore)`. */
export type StoreClass = new (url: URL, options: StoreOptions) => TaskStore;

/**
 * Store classes by URL scheme (without the colon). `local` is special: its store lives in the
 * arbiter and is reached through actor messages, so it is not made from this map.
 */
export const taskBackends = new Map<string, StoreClass>();

/** A parsed backend URL. */
export interface BackendUrl {
  url: URL;
  /** The scheme without its colon: `local`, `redis`, `rediss`, ... */
  scheme: string;
  /** `?poll_timeout=S` in seconds, default 2. */
  pollTimeout: number;
}

/**
 * A URL whose authority lists several `host:port` (cluster seeds) cannot be parsed by `URL`: the
 * text is rewritten with its first seed as host and the others in `?nodes=host:port,…` (which a
 * user may also write). Any other text is returned as it is.
 */
export function foldSeedList(raw: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/i.exec(raw);
  if (!m) return raw;
  const [, scheme, authority, rest] = m as unknown as [string, string, string, string];
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at + 1) : '';
  const hosts = authority.slice(at + 1);
  if (!hosts.includes(',')) return raw;
  const [first, ...others] = hosts.split(',');
  const q = rest.indexOf('?');
  const hash = rest.indexOf('#');
  const path = q >= 0 ? rest.slice(0, q) : hash >= 0 ? rest.slice(0, hash) : rest;
  const query = q >= 0 ? rest.slice(q + 1, hash > q ? hash : undefined) : '';
  const params = new URLSearchParams(query);
  const given = params.get('nodes');
  params.set('nodes', [...others, ...(given ? [given] : [])].join(','));
  return `${scheme}${userinfo}${first ?? ''}${path || '/'}?${params.toString()}`;
}

/** Parses and checks a backend URL; throws ImproperlyConfigured naming the problem. */
export function parseBackendUrl(raw: string): BackendUrl {
  let url: URL;
  try {
    url = new URL(foldSeedList(raw));
  } catch {
    throw new ImproperlyConfigured(`Invalid task backend URL "${redactUrl(raw)}": expected scheme://..., such as local:// or redis://127.0.0.1:6379/0`);
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (scheme !== 'local' && !taskBackends.has(scheme)) {
    const known = ['local', ...taskBackends.keys()].join(', ');
    throw new ImproperlyConfigured(`Unknown task backend scheme "${scheme}" in "${redactUrl(raw)}" (known: ${known})`);
  }
  const pt = url.searchParams.get('poll_timeout');
  const pollTimeout = pt === null ? 2 : Number(pt);
  if (!Number.isFinite(pollTimeout) || pollTimeout <= 0) {
    throw new ImproperlyConfigured(`poll_timeout in "${redactUrl(raw)}" must be a positive number of seconds`);
  }
  return { url, scheme, pollTimeout };
}

/** Makes the store of a non-local URL. */
export function createStore(raw: string, options: StoreOptions): TaskStore {
  const { url, scheme } = parseBackendUrl(raw);
  const cls = taskBackends.get(scheme);
  // A store is given the URL with its seed list folded (foldSeedList).
  if (!cls) {
    throw new ImproperlyConfigured(
      `${redactUrl(raw)}: local:// lives inside its arbiter; reach it with taskQueue.backend, by actor message, or over JSON-RPC`,
    );
  }
  return new cls(url, options);
}

/**
 * `raw` with `?shards=K` from a `shards` setting (undefined: `raw` as it is): every process that
 * opens the store from the URL then spreads the queue the same way. A URL that says another
 * number, or local:// with more than one shard, is refused.
 */
export function withShards(raw: string, shards: unknown): string {
  if (shards === undefined) return raw;
  const k = intSetting(shards, 'shards', 1);
  const { url, scheme } = parseBackendUrl(raw);
  if (scheme === 'local') {
    if (k === 1) return raw;
    throw new ImproperlyConfigured(`shards=${k}: local:// keeps one queue in its arbiter; shards spread a redis:// or redis+cluster:// queue`);
  }
  const given = url.searchParams.get('shards');
  if (given !== null) {
    if (Number(given) !== k) throw new ImproperlyConfigured(`shards is ${k} but the task backend URL "${redactUrl(raw)}" says shards=${given}`);
    return raw;
  }
  if (k === 1) return raw;
  const hash = raw.indexOf('#');
  const [body, fragment] = hash >= 0 ? [raw.slice(0, hash), raw.slice(hash)] : [raw, ''];
  return `${body}${body.includes('?') ? '&' : '?'}shards=${k}${fragment}`;
}

/** Checks an integer setting. */
export function intSetting(value: unknown, key: string, min: number): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min) {
    throw new ImproperlyConfigured(`${key} must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** Checks a number-of-seconds setting. */
export function secondsSetting(value: unknown, key: string, min = 0): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min) {
    throw new ImproperlyConfigured(`${key} must be a number of seconds ≥ ${min}, got ${JSON.stringify(value)}`);
  }
  return n;
}
