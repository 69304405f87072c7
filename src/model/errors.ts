/**
 * Error classes with a stable `name`, so callers (and JSON-RPC clients) can tell them apart.
 */
import { secondsText } from '../infra/text.js';

/** Base class of every error this library throws on purpose. */
export class PulsarTasksError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A job name that is not in the registry. */
export class TaskNotAvailable extends PulsarTasksError {
  constructor(readonly jobName: string) {
    super(`Task ${jobName} is not registered`);
  }
}

/** `waitForTask` ran out of time before the task was ready. */
export class TaskTimeoutError extends PulsarTasksError {
  constructor(
    readonly taskId: string,
    readonly timeoutSeconds: number,
  ) {
    super(`Task ${taskId} was not ready after ${secondsText(timeoutSeconds)}`);
  }
}

/** A setting, URL, job module or job class that cannot work as given. */
export class ImproperlyConfigured extends PulsarTasksError {}

/** Arguments that cannot be stored: kwargs or metaParams that are not plain JSON, bad options. */
export class InvalidTaskArguments extends PulsarTasksError {}

/** An actor did not answer an `ask` in time. */
export class AskTimeoutError extends PulsarTasksError {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
  ) {
    super(`${what} did not answer within ${timeoutMs} ms`);
  }
}

/** The backend (its store or its connection) is closed or cannot be reached. */
export class BackendUnavailable extends PulsarTasksError {}

/**
 * This TaskBackend was closed (its TaskQueue stopped, or restarted with a new backend): a wait on
 * it can never end, so it fails at once instead of riding it out as an outage.
 */
export class BackendClosed extends PulsarTasksError {}
