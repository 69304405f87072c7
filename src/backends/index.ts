/**
 * Registers the built-in store schemes in `taskBackends`. `local://` is not here: its store
 * lives in the arbiter (actors/local-store.ts). Every Redis scheme opens a ShardedRedisStore:
 * one RedisStore unless `?shards=K` asks for more.
 */
import { taskBackends } from '../store/schemes.js';
import { ShardedRedisStore } from './redis/redis-shards.js';

for (const scheme of ['redis', 'rediss', 'redis+cluster', 'rediss+cluster']) taskBackends.set(scheme, ShardedRedisStore);
