/**
 * The IPC bridge of local://: a process or thread worker's store calls arrive at its Worker actor
 * in batches (child-protocol.ts) and are asked of the LocalStore actor; the replies go back. And
 * the LocalStore's side of a batch: `answerStoreCalls`.
 */
import { callStore } from '../src/backends/remote.js';
import { BackendUnavailable } from '../src/model/errors.js';
import { errorToWire } from '../src/model/error-codec.js';
import type { TaskStore } from '../src/store/contract.js';
import type { StoreCall, StoreReply } from './child-protocol.js';
import type { LocalStoreMessage } from './protocol.js';
import { ask, type Reply, type TypedRef } from './refs.js';

/**
 * Runs the calls of one batch on `store` in order (null: the store is closed, every call fails)
 * and answers them: the calls other than pulls in one group, once the last is answered; a pull,
 * which may wait for work, on its own.
 */
export function answerStoreCalls(store: TaskStore | null, calls: StoreCall[], send: (replies: StoreReply[]) => void, name: string): void {
  const group: StoreReply[] = [];
  let waiting = 0;
  const answerGroup = (reply: StoreReply) => {
    group.push(reply);
    if (--waiting === 0) send(group);
  };
  for (const call of calls) {
    const answer = call.method === 'pull' ? (reply: StoreReply) => send([reply]) : answerGroup;
    if (call.method !== 'pull') waiting += 1;
    let outcome: Promise<unknown>;
    try {
      outcome = store ? callStore(store, call.method, call.args) : Promise.reject(new BackendUnavailable(`the local store of ${name} is closed`));
    } catch (err) {
      outcome = Promise.reject(err);
    }
    const rid = call.rid;
    outcome.then(
      (value) => answer({ rid, ok: true, value }),
      (err: unknown) => answer({ rid, ok: false, error: errorToWire(err) }),
    );
  }
}

/** Asks `localStore` the calls of one child message; `send` ships replies back to the child. */
export function bridgeStoreCalls(localStore: TypedRef<LocalStoreMessage>, calls: StoreCall[], pollTimeout: number, send: (replies: StoreReply[]) => void): void {
  /** One call, asked of the LocalStore actor; `answer` gets its reply. */
  const bridgeCall = ({ rid, method, args }: StoreCall, answer: (reply: StoreReply) => void): void => {
    const timeout = method === 'pull' ? 60_000 + pollTimeout * 1000 : 60_000;
    ask<LocalStoreMessage, Reply<unknown>>(localStore, (replyTo) => ({ type: 'call', method, args, replyTo }), timeout, `store ${method}`).then(
      (reply) => answer(reply.ok ? { rid, ok: true, value: reply.value } : { rid, ok: false, error: reply.error }),
      (err: unknown) => answer({ rid, ok: false, error: errorToWire(err) }),
    );
  };
  // The calls of one message are answered in one message, sent as soon as the last is answered:
  // nact serves the LocalStore's mailbox one message per event-loop turn, so the replies of a batch
  // come over as many turns (a per-turn batch sent them one by one), and waiting for a later turn
  // instead cost latency. A pull may wait for work: it is answered on its own.
  const group: StoreReply[] = [];
  let waiting = 0;
  const answerGroup = (reply: StoreReply) => {
    group.push(reply);
    if (--waiting === 0) send(group);
  };
  for (const call of calls) {
    if (call.method === 'pull') {
      bridgeCall(call, (reply) => send([reply]));
      continue;
    }
    waiting += 1;
    bridgeCall(call, answerGroup);
  }
}
