/**
 * The backend contract on one queue spread over shards: three on one Redis (REDIS_URL), six on
 * the specs' Redis Cluster of three masters (spec/support/redis-cluster.ts), and one on the
 * cluster: redis+cluster:// as every process opens it (ShardedRedisStore with one shard is one
 * RedisStore, today's layout): scripts keep their keys in one slot, broadcasts and blocking pulls
 * go through the Cluster client.
 */
import { backendContract } from '../backend.contract.js';
import { ShardedRedisStore } from '../../src/backends/redis/redis-shards.js';
import { shardOf } from '../../src/backends/redis/redis-shard-route.js';
import { sharedCluster } from '../support/redis-cluster.js';
import { dropNamespace, NAMESPACE, redisAvailable, specUrl } from './redis-env.js';

const single = specUrl({ shards: '3' });

backendContract('redis:// with shards=3', {
  url: single,
  available: redisAvailable,
  openStore: (name) => new ShardedRedisStore(single, { name }),
  cleanup: () => dropNamespace(),
  shardOf: (id) => shardOf(id, 3),
});

for (const shards of [6, 1]) {
  let url = '';
  backendContract(`redis+cluster:// with shards=${shards}`, {
    get url() {
      return url;
    },
    async available() {
      const cluster = await sharedCluster();
      if (!cluster) return false;
      url = cluster.url({ namespace: `${NAMESPACE}-k${shards}`, shards: String(shards) });
      return true;
    },
    openStore: (name) => new ShardedRedisStore(url, { name }),
    shardOf: (id) => shardOf(id, shards),
  });
}
