/**
 * The backend contract on a Redis Cluster of three masters with a replica each
 * (spec/support/redis-cluster.ts), through redis+cluster://: every script keeps its keys in one
 * slot, broadcasts and blocking pulls go through the Cluster client.
 */
import { backendContract } from '../backend.contract.js';
import { RedisStore } from '../../src/backends/redis/redis.js';
import { sharedCluster } from '../support/redis-cluster.js';
import { NAMESPACE } from './redis-env.js';

let url = '';

backendContract('redis+cluster://', {
  get url() {
    return url;
  },
  async available() {
    const cluster = await sharedCluster();
    if (!cluster) return false;
    url = cluster.url({ namespace: `${NAMESPACE}-c1` });
    return true;
  },
  openStore: (name) => new RedisStore(url, { name }),
});
