/**
 * Task states: the exact codes of pulsar's task queue (SPEC §1).
 */
export const SUCCESS = 1;
export const FAILURE = 2;
export const REVOKED = 3;
export const RETRY = 4;
export const STARTED = 5;
export const QUEUED = 6;

/** One of the six state codes. */
export type TaskStatus =
  | typeof SUCCESS
  | typeof FAILURE
  | typeof REVOKED
  | typeof RETRY
  | typeof STARTED
  | typeof QUEUED;

const NAMES: Record<TaskStatus, string> = {
  [SUCCESS]: 'SUCCESS',
  [FAILURE]: 'FAILURE',
  [REVOKED]: 'REVOKED',
  [RETRY]: 'RETRY',
  [STARTED]: 'STARTED',
  [QUEUED]: 'QUEUED',
};

/** The task ran to its end (returned or threw). */
export const FULL_RUN_STATES: ReadonlySet<TaskStatus> = new Set([SUCCESS, FAILURE]);
/** The task will not change any more. */
export const READY_STATES: ReadonlySet<TaskStatus> = new Set([SUCCESS, FAILURE, REVOKED]);
/** The task did not succeed. */
export const EXCEPTION_STATES: ReadonlySet<TaskStatus> = new Set([FAILURE, REVOKED]);
/** The task is still waiting or running. */
export const UNREADY_STATES: ReadonlySet<TaskStatus> = new Set([QUEUED, STARTED, RETRY]);

/** True when `code` is one of the six state codes. */
export function isTaskStatus(code: unknown): code is TaskStatus {
  return typeof code === 'number' && Object.prototype.hasOwnProperty.call(NAMES, code);
}

/** The upper-case name of a state code, `'UNKNOWN'` for anything else. */
export function statusString(code: unknown): string {
  return isTaskStatus(code) ? NAMES[code] : 'UNKNOWN';
}

/** The code of an upper-case (or any-case) state name, or undefined. */
export function statusCode(name: string): TaskStatus | undefined {
  const upper = name.toUpperCase();
  for (const [code, n] of Object.entries(NAMES)) if (n === upper) return Number(code) as TaskStatus;
  return undefined;
}

/** True in a ready state: the task will not change any more. */
export function isReady(code: TaskStatus): boolean {
  return READY_STATES.has(code);
}
