// A job written in plain JavaScript: `.js` modules load beside `.ts` ones.
import { Job } from '../src/index.js';

/** Returns `message` unchanged. */
export class Echo extends Job {
  doc = 'Returns `message` (a job written in JavaScript).';
  run(_consumer, { message = null }) {
    return message;
  }
}
