/**
 * The arguments MemoryStore checks before it changes anything: each bad one is a one-line
 * InvalidTaskArguments naming the problem.
 */
import { InvalidTaskArguments } from '../../model/errors.js';
import { FAILURE, READY_STATES, REVOKED, statusString, SUCCESS, type TaskStatus } from '../../model/states.js';
import type { WireTask } from '../../model/task.js';
import { DEFAULT_IDEMPOTENCY_WINDOW_MS, type PullRequest, type QueueRequestOptions, type RecoverRequest } from '../../store/contract.js';

const isCount = (n: unknown, min: number): n is number => Number.isInteger(n) && (n as number) >= min;
const isDuration = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0;

/** The idempotency keys (one per task, or none) and their window. */
export function checkQueueOptions(count: number, options: QueueRequestOptions): { keys: (string | null)[] | null; windowMs: number } {
  const keys = options.idempotencyKeys ?? null;
  if (keys !== null && (!Array.isArray(keys) || keys.length !== count)) {
    throw new InvalidTaskArguments(`idempotencyKeys must have one entry per task: ${Array.isArray(keys) ? keys.length : String(keys)} keys for ${count} tasks`);
  }
  const bad = keys?.find((key) => key !== null && (typeof key !== 'string' || key === ''));
  if (bad !== undefined) throw new InvalidTaskArguments(`an idempotency key must be a non-empty string or null, got ${JSON.stringify(bad)}`);
  const windowMs = options.idempotencyWindowMs ?? DEFAULT_IDEMPOTENCY_WINDOW_MS;
  if (!isDuration(windowMs) || windowMs === 0) {
    throw new InvalidTaskArguments(`idempotencyWindowMs must be a positive number of milliseconds, got ${String(windowMs)}`);
  }
  return { keys, windowMs };
}

/** A pull names its worker and asks for at least one task, a positive lease and a wait >= 0. */
export function checkPull(request: PullRequest): void {
  if (typeof request.worker !== 'string' || !request.worker) throw new InvalidTaskArguments(`pull needs a worker id, got ${JSON.stringify(request.worker)}`);
  if (!isCount(request.max, 1)) throw new InvalidTaskArguments(`pull max must be an integer >= 1, got ${String(request.max)}`);
  if (!isDuration(request.leaseMs) || request.leaseMs === 0) throw new InvalidTaskArguments(`pull leaseMs must be a positive number of milliseconds, got ${String(request.leaseMs)}`);
  if (!isDuration(request.waitMs)) throw new InvalidTaskArguments(`pull waitMs must be a number of milliseconds >= 0, got ${String(request.waitMs)}`);
}

/** A recovery's redelivery bound is an integer >= 0. */
export function checkRecover(request: RecoverRequest): void {
  if (!isCount(request.maxRedeliveries, 0)) throw new InvalidTaskArguments(`recover maxRedeliveries must be an integer >= 0, got ${String(request.maxRedeliveries)}`);
}

/** A renewal's lease is a positive duration. */
export function checkLease(leaseMs: number): void {
  if (!isDuration(leaseMs) || leaseMs === 0) throw new InvalidTaskArguments(`renew leaseMs must be a positive number of milliseconds, got ${String(leaseMs)}`);
}

/** A task `finish` saves must be ready. */
export function checkFinished(task: WireTask): void {
  if (!READY_STATES.has(task.status)) {
    throw new InvalidTaskArguments(`finish needs a task in a ready state (SUCCESS, FAILURE, REVOKED), got ${statusString(task.status)}`);
  }
}

/** The age, limit and states of a purge; the states default to every ready one. */
export function checkPurge(olderThanMs: number, limit: number, statuses: readonly TaskStatus[] | undefined): readonly TaskStatus[] {
  if (!isDuration(olderThanMs)) throw new InvalidTaskArguments(`purge olderThanMs must be a number of milliseconds >= 0, got ${String(olderThanMs)}`);
  if (!isCount(limit, 0)) throw new InvalidTaskArguments(`purge limit must be an integer >= 0, got ${String(limit)}`);
  if (statuses === undefined) return [SUCCESS, FAILURE, REVOKED];
  for (const status of statuses) {
    if (!READY_STATES.has(status)) {
      throw new InvalidTaskArguments(`purge statuses must be SUCCESS, FAILURE or REVOKED, got ${statusString(status)} (${String(status)})`);
    }
  }
  return statuses;
}

/** A periodic claim names its job and gives epoch-ms times (the previous one, or null for none). */
export function checkClaim(name: string, previousMs: number | null, ranAtMs: number): void {
  if (typeof name !== 'string' || !name) throw new InvalidTaskArguments(`claimRun needs a job name, got ${JSON.stringify(name)}`);
  if (previousMs !== null && !Number.isFinite(previousMs)) throw new InvalidTaskArguments(`claimRun previousMs must be epoch milliseconds or null, got ${String(previousMs)}`);
  if (!Number.isFinite(ranAtMs)) throw new InvalidTaskArguments(`claimRun ranAtMs must be epoch milliseconds, got ${String(ranAtMs)}`);
}
