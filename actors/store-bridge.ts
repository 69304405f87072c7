/**
 * The IPC bridge of local://: a process or thread worker's store calls arrive at its Worker actor
 * in batches (child-protocol.ts) and go to the LocalStore actor as one message; the replies go
 * back. And the LocalStore's side of a batch: `answerStoreCalls`.
 */
import { callStore } from '../src/backends/remote.js';
import { LATER, MemoryStore } from '../src/backends/memory/memory.js';
import { BackendUnavailable } from '../src/model/errors.js';
import { errorToWire } from '../src/model/error-codec.js';
import type { Delivery, TaskStore } from '../src/store/contract.js';
import { packDeliveries, unpackArgs } from './task-pack.js';
import type { StoreCall, StoreReply } from './child-protocol.js';
import type { LocalStoreMessage, StoreRepliesMessage } from './protocol.js';
import { isAlive, spawnHandler, tell, type AnyRef, type TypedRef } from './refs.js';

/**
 * Runs the calls of one batch on `store` in order (null: the store is closed, every call fails)
 * and answers them: the calls other than pulls in one group, once the last is answered; a pull,
 * which may wait for work, on its own.
 */
export function answerStoreCalls(store: TaskStore | null, calls: StoreCall[], send: (replies: StoreReply[]) => void, name: string): void {
  const group: StoreReply[] = [];
  // Counts the group's calls still unanswered, plus one until every call was made.
  let waiting = 1;
  const answerGroup = (reply: StoreReply) => {
    group.push(reply);
    if (--waiting === 0) send(group);
  };
  const now = store instanceof MemoryStore ? store : null;
  for (const call of calls) {
    const answer = call.method === 'pull' ? (reply: StoreReply) => send([reply]) : answerGroup;
    if (call.method !== 'pull') waiting += 1;
    if (now) {
      // Answered at once when the store can (no promise per call); else as below.
      let value: unknown;
      try {
        value = now.callNow(call.method, call.args);
      } catch (err) {
        answer({ rid: call.rid, ok: false, error: errorToWire(err) });
        continue;
      }
      if (value !== LATER) {
        answer({ rid: call.rid, ok: true, value });
        continue;
      }
    }
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
  if (--waiting === 0 && group.length) send(group);
}

let bridges = 0;

/**
 * The bridge of one child: each `store_calls` message of the child goes to the LocalStore actor as
 * one `calls` message (one mailbox turn for the whole batch, instead of an ask per call), and the
 * LocalStore's answers come to a reply actor under `parent` (the child's Worker actor), which ships
 * them to the child. The child's request ids travel unchanged: they are unique per child, and this
 * reply actor serves one child. Tasks cross packed both ways (task-pack.ts): the tasks of start,
 * finish and retry are rebuilt here, those of a pull's answer packed.
 */
export function storeBridge(localStore: TypedRef<LocalStoreMessage>, parent: AnyRef, send: (replies: StoreReply[]) => void): (calls: StoreCall[]) => void {
  let replyTo: TypedRef<StoreRepliesMessage> | null = null;
  /** Pulls waiting for their answer: its tasks cross packed (see task-pack.ts). */
  const pulls = new Set<number>();
  const reply = (replies: StoreReply[]) => {
    if (pulls.size) {
      for (const r of replies) {
        if (!pulls.delete(r.rid) || !r.ok) continue;
        r.value = packDeliveries(r.value as Delivery[]);
      }
    }
    send(replies);
  };
  return (calls) => {
    for (const call of calls) {
      if (call.method === 'pull') pulls.add(call.rid);
      else unpackArgs(call.method, call.args);
    }
    try {
      replyTo ??= spawnHandler<StoreRepliesMessage>(parent, `store-bridge-${++bridges}`, (m) => reply(m.replies));
      if (!isAlive(localStore)) throw new Error('the local store has stopped');
      tell(localStore, { type: 'calls', calls, replyTo });
    } catch (err) {
      const error = errorToWire(new BackendUnavailable(`local store: ${err instanceof Error ? err.message : String(err)}`));
      reply(calls.map(({ rid }) => ({ rid, ok: false, error })));
    }
  };
}
