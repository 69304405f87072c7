/**
 * HTTP plumbing of RpcServer: bounded body reading, bearer token checks, JSON replies.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** How a body read ended. */
export type BodyRead =
  | { kind: 'body'; text: string }
  /** More than the limit arrived; `drained` tells whether the rest was read off the wire too. */
  | { kind: 'too-large'; drained: boolean }
  /** The client went away before the end. */
  | { kind: 'aborted' };

/**
 * Reads a body of at most `limit` bytes. Past the limit it keeps reading and discarding (up to
 * `drainCap` bytes in all) so that the client, still sending, gets the answer instead of a reset
 * connection; past `drainCap` it gives up at once and the caller closes the connection.
 */
export function readBody(req: IncomingMessage, limit: number, drainCap: number): Promise<BodyRead> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > drainCap) {
      resolve({ kind: 'too-large', drained: false });
      return;
    }
    let chunks: Buffer[] = [];
    let total = 0;
    let done = false;
    const finish = (result: BodyRead) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > drainCap) return finish({ kind: 'too-large', drained: false });
      // Past the limit nothing more is kept: only counted.
      if (total > limit) chunks = [];
      else chunks.push(chunk);
    };
    const onEnd = () =>
      finish(total > limit ? { kind: 'too-large', drained: true } : { kind: 'body', text: Buffer.concat(chunks).toString('utf8') });
    const onClose = () => finish({ kind: 'aborted' });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    req.on('error', onClose);
  });
}

/** Discards a body we will not read (an unauthorised or misdirected request), bounded as above. */
export async function discardBody(req: IncomingMessage, drainCap: number): Promise<boolean> {
  const read = await readBody(req, 0, drainCap);
  return read.kind !== 'too-large' || read.drained;
}

/**
 * True when the request carries `Authorization: Bearer <token>`. Both sides are hashed first, so
 * the comparison takes the same time whatever the length or content of the guess.
 */
export function hasBearerToken(req: IncomingMessage, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!match) return false;
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(match[1] as string), digest(token));
}

/** Writes a JSON reply (or an empty 204 for `undefined`), unless the client is gone. */
export function sendJson(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed || res.writableEnded) return;
  if (payload === undefined) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(body.length),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(body);
}
