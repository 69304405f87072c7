/**
 * Errors as data, so they cross mailboxes, IPC and threads and come out as the same classes.
 */
import {
  BackendUnavailable,
  ImproperlyConfigured,
  InvalidTaskArguments,
  TaskNotAvailable,
  TaskTimeoutError,
} from './errors.js';

/** An error as plain data. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  jobName?: string;
  taskId?: string;
  timeoutSeconds?: number;
}

/** Any thrown value → WireError. */
export function errorToWire(err: unknown): WireError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const wire: WireError = { name: err.name, message: err.message, stack: err.stack };
  if (err instanceof TaskNotAvailable) wire.jobName = err.jobName;
  if (err instanceof TaskTimeoutError) {
    wire.taskId = err.taskId;
    wire.timeoutSeconds = err.timeoutSeconds;
  }
  return wire;
}

/** WireError → an instance of the class it was, when it is one of ours. */
export function errorFromWire(wire: WireError): Error {
  let err: Error;
  switch (wire.name) {
    case 'TaskNotAvailable':
      err = new TaskNotAvailable(wire.jobName ?? '?');
      break;
    case 'TaskTimeoutError':
      err = new TaskTimeoutError(wire.taskId ?? '?', wire.timeoutSeconds ?? 0);
      break;
    case 'ImproperlyConfigured':
      err = new ImproperlyConfigured(wire.message);
      break;
    case 'InvalidTaskArguments':
      err = new InvalidTaskArguments(wire.message);
      break;
    case 'BackendUnavailable':
      err = new BackendUnavailable(wire.message);
      break;
    default:
      err = new Error(wire.message);
      err.name = wire.name;
  }
  err.message = wire.message;
  if (wire.stack) err.stack = wire.stack;
  return err;
}

