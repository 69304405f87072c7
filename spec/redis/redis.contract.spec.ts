/**
 * The backend contract on redis://, against REDIS_URL with a namespace of this run.
 */
import { backendContract } from '../backend.contract.js';
import { RedisStore } from '../../src/backends/redis/redis.js';
import { dropNamespace, redisAvailable, specUrl } from './redis-env.js';

const url = specUrl();

backendContract('redis://', {
  url,
  available: redisAvailable,
  openStore: (name) => new RedisStore(url, { name }),
  cleanup: () => dropNamespace(),
});
