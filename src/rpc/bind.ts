/**
 * `HOST:PORT` bind addresses of RpcServer (and of the CLI's `--rpc-bind`): parsing, and whether
 * the address is loopback only (the one case served without a token).
 */
import { isIP } from 'node:net';
import { ImproperlyConfigured } from '../model/errors.js';

/** A parsed bind address. */
export interface BindAddress {
  /** Host name or IP, without IPv6 brackets. */
  host: string;
  /** 0 lets the system pick one. */
  port: number;
}

/**
 * Parses `HOST:PORT`, `[IPv6]:PORT`, `:PORT` or `PORT` (the last two bind loopback);
 * throws ImproperlyConfigured naming the value.
 */
export function parseBind(value: string): BindAddress {
  const bad = (why: string) => new ImproperlyConfigured(`Invalid bind address ${JSON.stringify(value)}: ${why}; expected HOST:PORT, such as 127.0.0.1:8060`);
  if (typeof value !== 'string' || !value.trim()) throw bad('empty');
  const text = value.trim();
  let host: string;
  let portText: string;
  const v6 = /^\[([^\]]+)\]:(\d*)$/.exec(text);
  if (v6) {
    host = v6[1] as string;
    portText = v6[2] as string;
    if (isIP(host) !== 6) throw bad(`${host} is not an IPv6 address`);
  } else if (/^\d+$/.test(text)) {
    host = '127.0.0.1';
    portText = text;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) throw bad('no port');
    host = text.slice(0, colon) || '127.0.0.1';
    portText = text.slice(colon + 1);
    if (host.includes(':')) throw bad('write IPv6 addresses in brackets, such as [::1]:8060');
    if (!/^[a-z0-9.-]+$/i.test(host)) throw bad(`"${host}" is not a host name or IP address`);
  }
  if (!/^\d+$/.test(portText)) throw bad('the port must be a number');
  const port = Number(portText);
  if (port > 65535) throw bad('the port must be 0 to 65535');
  return { host, port };
}

/** True when only this machine can connect to `host`. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h.startsWith('::ffff:127.');
}

/** The URL a client uses for a server bound to `host:port`: a wildcard bind is reached on loopback. */
export function clientUrl(host: string, port: number): string {
  let h = host;
  if (h === '0.0.0.0') h = '127.0.0.1';
  else if (h === '::' || h === '0:0:0:0:0:0:0:0') h = '::1';
  return `http://${isIP(h) === 6 ? `[${h}]` : h}:${port}`;
}
