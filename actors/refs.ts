/**
 * The one thin wrapper over nact: typed refs, tell, ask with a typed timeout error (answers
 * correlated by request ids of our own, never nact's `query`), and a check that an actor is still
 * reachable. Nothing else in the project imports nact's messaging.
 */
import { createRequire } from 'node:module';
import type * as Nact from 'nact';
import type { Ref } from 'nact';
import { AskTimeoutError, PulsarTasksError } from '../src/model/errors.js';
import { errorFromWire, errorToWire, type WireError } from '../src/model/error-codec.js';
import { getLogger } from '../src/infra/logger.js';
import { TurnBatcher } from '../src/infra/turn-batcher.js';
import { CallTable } from '../src/backends/call-table.js';

/**
 * nact, loaded on first use: a worker child never uses it, yet its job modules import
 * pulsar-tasks (whose index exports the actors), and it weighs ~9 MiB of RSS.
 */
let nactLib: typeof Nact | null = null;
function nact(): typeof Nact {
  nactLib ??= createRequire(import.meta.url)('nact') as typeof Nact;
  return nactLib;
}
const dispatch: typeof Nact.dispatch = (...args) => nact().dispatch(...args);
const spawn: typeof Nact.spawn = (...args) => nact().spawn(...args);
const start: typeof Nact.start = (...args) => nact().start(...args);
const stop: typeof Nact.stop = (...args) => nact().stop(...args);

declare const brand: unique symbol;
/** A ref that only accepts messages of type M (nact's Ref<T> does not use T); contravariant in M. */
export type TypedRef<M> = Ref<unknown> & { readonly [brand]?: (message: M) => void };

/** Any ref, for parents. */
export type AnyRef = Ref<unknown>;

/** A reply that carries a value or an error as data. */
export type Reply<T> = { ok: true; value: T } | { ok: false; error: WireError };

/** The target of an ask is gone (stopped, or its parent stopped). */
export class ActorGone extends PulsarTasksError {}

/**
 * Where an answer goes: an actor (any ref, as the public protocol lets a user actor be it), or
 * the reply address of an `ask` (its request id at this process's reply router).
 */
export type ReplyTo<R> = TypedRef<R> | ReplyAddress<R>;

/** The reply address of one pending `ask`: answers travel to the router tagged with `rid`. */
export interface ReplyAddress<R> {
  readonly router: TypedRef<RoutedReplies>;
  readonly rid: number;
  readonly [brand]?: (message: R) => void;
}

/** The answers of one turn to one router, each tagged with the id of its ask. */
type RoutedReplies = { type: 'replies'; replies: { rid: number; value: unknown }[] };

function isReplyAddress<M>(to: ReplyTo<M>): to is ReplyAddress<M> {
  return typeof (to as { rid?: unknown }).rid === 'number' && typeof (to as { router?: unknown }).router === 'object';
}

/** Sends a message (an answer to a ReplyTo); dropped silently if the actor stopped (nact's rule). */
export function tell<M>(ref: ReplyTo<M>, message: M): void {
  if (isReplyAddress(ref)) answerOut.push({ router: ref.router, rid: ref.rid, value: message });
  else dispatch(ref as Ref<M>, message);
}

/**
 * The answers of one turn leave together, one `replies` message per router: the router handles
 * one mailbox message per turn (nact's rule), so one answer a message would queue them up.
 */
const answerOut = new TurnBatcher<{ router: TypedRef<RoutedReplies>; rid: number; value: unknown }>((answers) => {
  const byRouter = new Map<TypedRef<RoutedReplies>, RoutedReplies['replies']>();
  for (const { router, rid, value } of answers) {
    let list = byRouter.get(router);
    if (!list) byRouter.set(router, (list = []));
    list.push({ rid, value });
  }
  for (const [router, replies] of byRouter) dispatch(router as Ref<RoutedReplies>, { type: 'replies', replies });
});

/**
 * This process's reply router: an actor in a nact system of its own (it outlives the systems it
 * serves), holding the asks waiting for an answer by request id. Ids come from a counter, so two
 * pending asks never share one: nact's `query` drew its temporary references' ids from
 * Math.random, and two alike misrouted an answer (spec/actors/ask.spec.ts).
 */
let router: { ref: TypedRef<RoutedReplies>; calls: CallTable } | null = null;

function replyRouter(): { ref: TypedRef<RoutedReplies>; calls: CallTable } {
  if (router && isAlive(router.ref)) return router;
  const calls = router?.calls ?? new CallTable((what, ms) => new AskTimeoutError(what, ms));
  const system = start({ name: `pulsar-replies-${process.pid}-${++routerSystems}` } as unknown as string) as AnyRef;
  const ref = spawn(
    system,
    (state: undefined, message: RoutedReplies) => {
      for (const { rid, value } of message.replies) calls.resolve(rid, value);
      return state;
    },
    'replies',
  ) as TypedRef<RoutedReplies>;
  router = { ref, calls };
  return router;
}
let routerSystems = 0;
/** The longest a Node timer waits (a longer one fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Sends the message made with a reply address and resolves with the answer; rejects
 * AskTimeoutError after `timeoutMs`, ActorGone at once if the actor is unreachable.
 */
export async function ask<M, R>(ref: TypedRef<M>, make: (replyTo: ReplyTo<R>) => M, timeoutMs: number, what: string): Promise<R> {
  const ms = Math.min(MAX_TIMER_MS, Math.max(1, Math.round(timeoutMs)));
  if (!isAlive(ref)) throw new ActorGone(`${what}: the actor has stopped`);
  const { ref: routerRef, calls } = replyRouter();
  const { rid, answer } = calls.add(what, ms);
  try {
    dispatch(ref as Ref<M>, make({ router: routerRef, rid }));
  } catch (err) {
    calls.reject(rid, err instanceof Error ? err : new Error(String(err)));
  }
  return (await answer) as R;
}

/** Asks for a Reply<T> and unwraps it: the value, or the error rebuilt as its class. */
export async function askReply<M, T>(ref: TypedRef<M>, make: (replyTo: ReplyTo<Reply<T>>) => M, timeoutMs: number, what: string): Promise<T> {
  const reply = await ask<M, Reply<T>>(ref, make, timeoutMs, what);
  if (reply.ok) return reply.value;
  throw errorFromWire(reply.error);
}

/** Answers `replyTo` with the outcome of a promise (never throws). */
export function replyWith<T>(replyTo: ReplyTo<Reply<T>>, work: Promise<T> | (() => Promise<T>)): void {
  let promise: Promise<T>;
  try {
    promise = typeof work === 'function' ? work() : work;
  } catch (err) {
    promise = Promise.reject(err);
  }
  promise.then(
    (value) => tell(replyTo, { ok: true, value }),
    (err: unknown) => tell(replyTo, { ok: false, error: errorToWire(err) }),
  );
}

/**
 * Spawns an actor whose behaviour is an object's `receive` method; the actor's state is that
 * object. Returning nothing keeps the mailbox moving: long work must not be awaited inside.
 */
export function spawnHandler<M>(parent: AnyRef, name: string, receive: (message: M) => void): TypedRef<M> {
  const ref = spawn(
    parent,
    (state: undefined, message: M) => {
      try {
        receive(message);
      } catch (err) {
        // A fault in a handler must not reach nact's supervision (a throwing policy crashes Node).
        log.error(`actor ${name} failed on a ${describe(message)} message: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
      return state;
    },
    name,
  );
  return ref as TypedRef<M>;
}

const log = getLogger('pulsar.actors');

function describe(message: unknown): string {
  const type = typeof message === 'object' && message !== null ? (message as { type?: unknown }).type : undefined;
  return typeof type === 'string' ? type : typeof message;
}

/** Starts a nact system. */
export function startSystem(name: string): AnyRef {
  return start({ name } as unknown as string) as AnyRef;
}

/** Stops an actor (not its children: stop them first). */
export function stopActor(ref: AnyRef): void {
  stop(ref);
}

/** A valid nact actor name from any text. */
export function actorName(text: string): string {
  return text.replace(/[^a-z0-9\-$_.+!*'(),]/gi, '_') || '_';
}

// nact (pinned at 7.6.2) keeps its live actors in a registry it does not export: asking it whether an
// actor exists sends nothing to the actor (a query would land in a user actor's mailbox).
let systemMapLib: { find(system: string, ref: unknown): unknown } | null = null;
const systemMap = () => (systemMapLib ??= createRequire(import.meta.url)('nact/lib/system-map.js') as { find(system: string, ref: unknown): unknown });

/** True while the actor exists (it and its ancestors run); nothing is sent to it. */
export function isAlive(ref: AnyRef): boolean {
  const name = (ref as unknown as { system?: { name?: string } }).system?.name;
  return typeof name === 'string' && Boolean(systemMap().find(name, ref));
}

/** A stable key for an actor (its system and path): two refs to one actor give one key. */
export function refKey(ref: AnyRef): string {
  const r = ref as unknown as { system?: { name?: string }; path?: { parts?: string[] }; id?: number };
  return `${r.system?.name ?? '?'}://${r.path?.parts?.join('/') ?? `temp-${r.id ?? '?'}`}`;
}

/** True for a reply that carries a value (narrows it). */
export function isOk<R extends Reply<unknown>>(reply: R): reply is Extract<R, { ok: true }> {
  return reply.ok;
}
