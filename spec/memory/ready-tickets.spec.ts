/**
 * ReadyTickets: highest priority first, then oldest queued, whatever mix of new tickets (in
 * queueing order, served by per-priority FIFOs) and tickets queued again (older orders, the heap)
 * and however many priorities; checked against a plain sort.
 */
import { expect } from 'chai';
import { ReadyTickets, type Ticket } from '../../src/backends/memory/memory-queues.js';
import { seededRandom as random } from './memory-support.js';

interface T extends Ticket {
  stale: boolean;
}

const expected = (tickets: T[]) =>
  tickets.filter((t) => !t.stale).sort((a, b) => b.priority - a.priority || a.order - b.order);

describe('ReadyTickets (MemoryStore ready queue)', () => {
  for (const [levels, seed] of [[1, 1], [3, 2], [40, 3]] as const) {
    it(`takes by priority then queueing order: ${levels} priorities, new and requeued tickets, stale ones dropped`, () => {
      const next = random(seed);
      const ready = new ReadyTickets<T>();
      const held: T[] = [];
      let order = 0;
      const taken: T[] = [];
      for (let step = 0; step < 3000; step++) {
        const r = next();
        if (r < 0.5) {
          // A new task: the next order.
          const t: T = { at: 0, priority: Math.floor(next() * levels), order: ++order, stale: next() < 0.1 };
          ready.push(t);
          held.push(t);
        } else if (r < 0.7 && order > 0) {
          // A task queued again: an older order.
          const t: T = { at: 0, priority: Math.floor(next() * levels), order: 1 + Math.floor(next() * order), stale: false };
          ready.push(t);
          held.push(t);
        } else {
          const want = expected(held).slice(0, 1 + Math.floor(next() * 5));
          const got = ready.take(want.length, (t) => !t.stale);
          expect(got).to.deep.equal(want);
          taken.push(...got);
          // Stale tickets never come out: only the live ones are expected.
          for (const t of held.filter((h) => h.stale || got.includes(h))) held.splice(held.indexOf(t), 1);
        }
        if (step % 500 === 499) ready.retain((t) => !t.stale);
      }
      expect(ready.take(Infinity, (t) => !t.stale)).to.deep.equal(expected(held));
      expect(taken.length).to.be.greaterThan(100);
    });
  }
});
