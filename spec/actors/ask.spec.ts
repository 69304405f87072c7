/**
 * ask/askReply correlate replies by request ids minted in sequence, never by nact's temporary
 * references (ids drawn from Math.random: two live at once with one id misroute a reply).
 */
import { expect } from 'chai';
import { start, stop, type Ref } from 'nact';
import { AskTimeoutError } from '../../src/model/errors.js';
import { ActorGone, ask, askReply, replyWith, spawnHandler, stopActor, tell, type ReplyTo, type Reply, type TypedRef } from '../../actors/refs.js';

type Question = { type: 'question'; tag: string; replyTo: ReplyTo<string> } | { type: 'answer_all' };

describe('ask', function () {
  this.timeout(30_000);
  let system: Ref<unknown>;
  beforeEach(() => (system = start()));
  afterEach(() => stop(system));

  /** An actor that holds its questions until told to answer them all, in arrival order. */
  const holder = (): TypedRef<Question> => {
    const held: { tag: string; replyTo: ReplyTo<string> }[] = [];
    return spawnHandler<Question>(system, 'holder', (m) => {
      if (m.type === 'question') held.push(m);
      else for (const q of held.splice(0)) tell(q.replyTo, `answer to ${q.tag}`);
    });
  };

  it('gives each of two pending asks its own answer even when the random source repeats itself', async () => {
    const ref = holder();
    const random = Math.random;
    let first: Promise<string>;
    let second: Promise<string>;
    // Whatever id source an ask might draw from, both asks draw the same numbers.
    Math.random = () => 0.5;
    try {
      first = ask<Question, string>(ref, (replyTo) => ({ type: 'question', tag: 'one', replyTo }), 5000, 'one');
      second = ask<Question, string>(ref, (replyTo) => ({ type: 'question', tag: 'two', replyTo }), 5000, 'two');
    } finally {
      Math.random = random;
    }
    tell(ref, { type: 'answer_all' });
    const outcomes = await Promise.allSettled([first, second]);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : `rejected: ${String(o.reason)}`))).to.deep.equal(['answer to one', 'answer to two']);
  });

  it('correlates a thousand concurrent asks to several actors, answered out of order', async () => {
    const refs = [0, 1, 2].map((i) =>
      spawnHandler<{ n: number; replyTo: ReplyTo<Reply<number>> }>(system, `echo-${i}`, (m) => {
        // Answers later questions first: a reply must find its asker by its id, not by its order.
        replyWith(m.replyTo, new Promise<number>((resolve) => setTimeout(() => resolve(m.n * 2), 50 - (m.n % 50))));
      }),
    );
    const answers = await Promise.all(
      Array.from({ length: 1000 }, (_, n) => askReply<{ n: number; replyTo: ReplyTo<Reply<number>> }, number>(refs[n % 3]!, (replyTo) => ({ n, replyTo }), 20_000, `echo ${n}`)),
    );
    expect(answers).to.deep.equal(Array.from({ length: 1000 }, (_, n) => n * 2));
  });

  it('rejects AskTimeoutError when no answer comes, and a late answer changes nothing', async () => {
    const ref = holder();
    const err = await ask<Question, string>(ref, (replyTo) => ({ type: 'question', tag: 'late', replyTo }), 100, 'late question').then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(AskTimeoutError);
    expect(String(err)).to.match(/late question/);
    tell(ref, { type: 'answer_all' });
    const next = ask<Question, string>(ref, (replyTo) => ({ type: 'question', tag: 'next', replyTo }), 5000, 'next');
    tell(ref, { type: 'answer_all' });
    expect(await next).to.equal('answer to next');
  });

  it('rejects ActorGone at once for an actor that stopped', async () => {
    const ref = holder();
    stopActor(ref);
    const err = await ask<Question, string>(ref, (replyTo) => ({ type: 'question', tag: 'x', replyTo }), 60_000, 'stopped actor').then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ActorGone);
  });

  it('still answers to a plain actor ref as replyTo (the public protocol lets a user actor be it)', async () => {
    const got: Reply<number>[] = [];
    let arrived!: () => void;
    const done = new Promise<void>((r) => (arrived = r));
    const user = spawnHandler<Reply<number>>(system, 'user', (m) => {
      got.push(m);
      arrived();
    });
    replyWith(user, Promise.resolve(7));
    await done;
    expect(got).to.deep.equal([{ ok: true, value: 7 }]);
  });
});
