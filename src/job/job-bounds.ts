/**
 * A job's own defaults (expires, timeout, retryDelay, maxRetries, priority) are held to the same
 * bounds as queueTask's options, at registration: a job that could never be queued is refused
 * when it is loaded, naming the job, rather than at every queueTask.
 */
import { ImproperlyConfigured } from '../model/errors.js';
import { MAX_DELAY_SECONDS, MAX_PRIORITY, MAX_RETRIES, MAX_TIMEOUT_SECONDS } from '../model/limits.js';
import { seconds } from '../model/options.js';
import type { Job } from './job.js';

/** Throws ImproperlyConfigured naming the job and the attribute out of bounds. */
export function checkJobBounds(job: Job): void {
  try {
    if (job.expires) seconds(job.expires, 'expires', MAX_DELAY_SECONDS);
    if (job.retryDelay) seconds(job.retryDelay, 'retryDelay', MAX_DELAY_SECONDS);
    if (job.timeout) seconds(job.timeout, 'timeout', MAX_TIMEOUT_SECONDS);
  } catch (err) {
    throw new ImproperlyConfigured(`Job "${job.name}": ${(err as Error).message}`, { cause: err });
  }
  if (!Number.isInteger(job.maxRetries) || job.maxRetries < 0 || job.maxRetries > MAX_RETRIES) {
    throw new ImproperlyConfigured(`Job "${job.name}": maxRetries must be an integer from 0 to ${MAX_RETRIES}, got ${String(job.maxRetries)}`);
  }
  if (typeof job.priority !== 'number' || !Number.isFinite(job.priority) || Math.abs(job.priority) > MAX_PRIORITY) {
    throw new ImproperlyConfigured(`Job "${job.name}": priority must be a number between -${MAX_PRIORITY} and ${MAX_PRIORITY}, got ${String(job.priority)}`);
  }
}
