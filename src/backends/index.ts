/**
 * Registers the built-in store schemes in `taskBackends`. `local://` is not here: its store
 * lives in the arbiter (actors/local-store.ts).
 */
import { taskBackends } from '../store/schemes.js';
import { RedisStore } from './redis/redis.js';

taskBackends.set('redis', RedisStore);
taskBackends.set('rediss', RedisStore);
taskBackends.set('redis+cluster', RedisStore);
taskBackends.set('rediss+cluster', RedisStore);
