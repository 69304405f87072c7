/**
 * A fuzz of the JSON-RPC surface (fast-check): random envelopes, batches and params for every
 * method, hostile numbers and deep or odd values included. Whatever arrives, the server never
 * answers 5xx, never stores a task that does not decode, and still answers afterwards. Bounded to
 * run in well under a minute; FUZZ_RUNS raises the number of requests, FUZZ_SEED replays a run.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { Arbiter } from '../../actors/arbiter.js';
import { TaskQueue } from '../../src/app/taskqueue.js';
import { Task, type WireTask } from '../../src/model/task.js';
import type { TaskPage } from '../../src/store/contract.js';
import { RpcServer } from '../../src/rpc/server.js';
import { rpcMethodNames } from '../../src/rpc/methods.js';
import { startRpc, type RpcHarness } from './support.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);

/** Numbers that broke things once: huge, tiny, negative, fractional, beyond a timer or a date. */
const hostileNumber = fc.oneof(
  fc.constantFrom(0, -1, 0.5, 1e13, 1e308, -1e308, 2 ** 31, 2 ** 53, Number.MAX_SAFE_INTEGER, 315_360_001, 1e-9),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);

const jsonValue = fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<unknown>;

/** A value nested `depth` levels deep. */
const deep = fc.integer({ min: 60, max: 400 }).map((depth) => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value };
  return value;
});

const paramValue = fc.oneof({ weight: 4, arbitrary: jsonValue }, { weight: 3, arbitrary: hostileNumber }, { weight: 1, arbitrary: deep });

const jobNames = fc.constantFrom('addition', 'echo', 'multiply', 'notoverlap', 'checkworker', 'testperiodic', 'nope', '', '__proto__');

/** Named params: the known keys of every method, and random ones. */
const namedParams = fc.dictionary(
  fc.oneof(
    fc.constantFrom('id', 'ids', 'jobname', 'jobnames', 'meta_data', 'expiry', 'timeout', 'message', 'name', 'status', 'from_task', 'kwargs', 'x', 'y', 'a', 'b', '__proto__', 'constructor'),
    fc.string({ maxLength: 8 }),
  ),
  paramValue,
  { maxKeys: 5 },
);

const queueParams = fc.record(
  { jobname: jobNames, expiry: hostileNumber, meta_data: fc.oneof(jsonValue, deep), message: paramValue, x: hostileNumber, y: paramValue },
  { requiredKeys: ['jobname'] },
);

/** wait_for_task only with short waits: the fuzz is about answers, not about waiting 300 s. */
const waitParams = fc.record({ id: fc.oneof(fc.string(), hostileNumber), timeout: fc.oneof(fc.constantFrom(0, 0.01, 301, 2 ** 31, -1, 1e308), fc.double({ min: 0, max: 0.05, noNaN: true })) });

const methodNames = rpcMethodNames().filter((m) => m !== 'wait_for_task');

const envelope = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      {
        jsonrpc: fc.oneof({ weight: 9, arbitrary: fc.constant('2.0') }, { weight: 1, arbitrary: jsonValue }),
        method: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...methodNames) }, { weight: 1, arbitrary: fc.string() }, { weight: 1, arbitrary: paramValue }),
        params: fc.oneof(namedParams, fc.array(paramValue, { maxLength: 5 }), paramValue, fc.constant(null)),
        id: fc.oneof(fc.integer(), fc.string({ maxLength: 10 }), fc.constant(null), jsonValue),
      },
      { requiredKeys: ['jsonrpc', 'method'] },
    ),
  },
  { weight: 3, arbitrary: queueParams.map((params) => ({ jsonrpc: '2.0', method: 'queue_task', params, id: 1 })) },
  { weight: 1, arbitrary: waitParams.map((params) => ({ jsonrpc: '2.0', method: 'wait_for_task', params, id: 2 })) },
  { weight: 1, arbitrary: jsonValue },
);

/** A request body: one envelope, a batch, or raw text. */
const body = fc.oneof(
  { weight: 6, arbitrary: envelope.map((e) => JSON.stringify(e)) },
  { weight: 2, arbitrary: fc.array(envelope, { minLength: 0, maxLength: 6 }).map((b) => JSON.stringify(b)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
);

/** POSTs random bodies to `url`: never a 5xx, always JSON (or nothing). */
async function fuzz(url: string, runs: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(body, async (text) => {
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: text });
      const reply = await res.text();
      expect(res.status, `${res.status} for ${text.slice(0, 300)}: ${reply.slice(0, 300)}`).to.be.below(500);
      if (reply) JSON.parse(reply);
    }),
    { numRuns: runs, ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}) },
  );
}

async function rpcCall(url: string, method: string): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method }) });
  expect(res.status).to.equal(200);
  return ((await res.json()) as { result: unknown }).result;
}

describe('JSON-RPC fuzz', function () {
  this.timeout(120_000);
  let h: RpcHarness;
  before(async () => {
    h = await startRpc();
  });
  after(async () => h?.close());

  it(`answers ${RUNS} random requests without a 5xx, and stores only tasks that decode`, async () => {
    await fuzz(h.url, RUNS);
    const stored: WireTask[] = [];
    let cursor: string | null = null;
    do {
      const page: TaskPage = await h.backend.store.list({}, { limit: 1000, cursor });
      stored.push(...page.tasks);
      cursor = page.cursor;
    } while (cursor !== null);
    for (const wire of stored) expect(() => Task.fromWire(wire), JSON.stringify(wire).slice(0, 300)).to.not.throw();
    const ids = new Set(stored.map((w) => w.id));
    const answer = (await rpcCall(h.url, 'get_tasks')) as { id: string }[] | { tasks: { id: string }[] };
    const listed = Array.isArray(answer) ? answer : answer.tasks;
    expect(listed).to.be.an('array');
    for (const task of listed) expect(ids.has(task.id)).to.equal(true);
    expect(await rpcCall(h.url, 'ping')).to.equal('pong');
  });
});

describe('JSON-RPC fuzz through an arbiter (values cross the actor mailbox)', function () {
  this.timeout(120_000);
  let arbiter: Arbiter;
  let rpc: RpcServer;
  before(async () => {
    arbiter = new Arbiter({ handleSignals: false });
    arbiter.add(new TaskQueue({ name: 'taskqueue', taskPaths: ['jobs/*'], workers: 1, concurrency: 'inline' }));
    rpc = arbiter.add(new RpcServer({ bind: '127.0.0.1:0' }));
    await arbiter.start();
  });
  after(async () => arbiter?.stop());

  it(`answers ${Math.ceil(RUNS / 4)} random requests without a 5xx, and still lists and answers after`, async () => {
    await fuzz(rpc.url, Math.ceil(RUNS / 4));
    const answer = (await rpcCall(rpc.url, 'get_tasks')) as unknown[] | { tasks: unknown[] };
    expect(Array.isArray(answer) ? answer : answer.tasks).to.be.an('array');
    expect(await rpcCall(rpc.url, 'ping')).to.equal('pong');
  });
});
