/**
 * Periodic runs of a queue over K > 1 shards (ShardedRedisStore.claimRun): the run is claimed on
 * the first shard (which every scheduler uses), the task journaled there in the same script
 * (lua/shard-claim.lua), then queued on its own shard with an idempotency key and taken off the
 * journal. A claim settles the journal entries a failed client left behind (queueing twice stores
 * once).
 */
import { readFileSync } from 'node:fs';
import type { WireTask } from '../../model/task.js';
import type { RedisLink } from './redis-link.js';
import type { RedisStore } from './redis.js';
import { LuaScript } from './redis-scripts.js';
import { place } from './redis-shard-route.js';

const claimScript = new LuaScript('shard-claim', readFileSync(new URL('./lua/shard-claim.lua', import.meta.url), 'utf8'));

/** A periodic task claimed but maybe not queued yet (the journal of lua/shard-claim.lua). */
interface PendingClaim {
  task: WireTask;
}

/** The claims of one sharded queue. */
export class ShardClaims {
  constructor(
    private readonly link: RedisLink,
    private readonly k: number,
    /** The first shard: claims and the journal live there. */
    private readonly first: RedisStore,
    /** The shard of a task id. */
    private readonly at: (id: string) => RedisStore,
    /** Waits for the replicas a write of `shard` must reach (`?wait_replicas=`), then answers `value`. */
    private readonly replicated: <T>(shard: RedisStore, value: T) => Promise<T>,
  ) {}

  /** Claims the run and queues its task: its id, null when a lock held it back, false when not claimed. */
  async claim(name: string, previousMs: number | null, ranAtMs: number, task: WireTask): Promise<string | null | false> {
    if (typeof name !== 'string' || !name) throw new TypeError('claimRun needs the name of a periodic job');
    if (!Number.isFinite(ranAtMs) || (previousMs !== null && !Number.isFinite(previousMs))) {
      throw new TypeError(`claimRun needs run times in epoch ms, got ${String(previousMs)} and ${String(ranAtMs)}`);
    }
    const placed = place(task, null, this.k).task;
    const claimKeys = this.first.keys;
    const entry: PendingClaim = { task: placed };
    const args = [name, previousMs === null ? '' : String(previousMs), String(ranAtMs), placed.id, JSON.stringify(entry)];
    const reply = (await this.link.run((r) => claimScript.run(r, [claimKeys.lastRuns, pendingKey(claimKeys.prefix)], args))) as unknown[];
    for (let i = 1; i + 1 < reply.length; i += 2) {
      const left = JSON.parse(String(reply[i + 1])) as PendingClaim;
      await this.settle(left.task);
    }
    if (Number(reply[0]) !== 1) return false;
    return this.settle(placed);
  }

  /** Queues a claimed task on its shard (once, whoever settles it) and takes it off the journal. */
  private async settle(task: WireTask): Promise<string | null> {
    const [id] = await this.at(task.id).queue([task], { idempotencyKeys: [`claim:${task.id}`] });
    await this.replicated(this.at(task.id), null);
    await this.link.run((r) => r.hdel(pendingKey(this.first.keys.prefix), task.id));
    return id ?? null;
  }
}

function pendingKey(prefix: string): string {
  return `${prefix}claims`;
}
