/**
 * A sample job that declares its kwargs (a JSON Schema): bad kwargs are refused when queued,
 * naming the field, and `pulsar-tasks jobs` shows what it takes.
 */
import { Job, type TaskConsumer } from '../src/index.js';
import type { JsonObject } from '../src/model/json.js';

/** Returns x × y; both are required numbers. */
export class Multiply extends Job {
  override doc = 'Returns `x` × `y` (numbers, both required).';
  override kwargsSchema: JsonObject = {
    type: 'object',
    properties: { x: { type: 'number' }, y: { type: 'number' } },
    required: ['x', 'y'],
    additionalProperties: false,
  };
  run(_consumer: TaskConsumer, { x, y }: JsonObject): number {
    return (x as number) * (y as number);
  }
}
