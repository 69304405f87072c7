/**
 * Reading stored tasks for listings: a task that cannot be decoded (written by an older or
 * foreign version, or damaged by hand) is left out and logged once, instead of failing the
 * listing for every client.
 */
import type { Logger } from '../infra/logger.js';
import { Task } from '../model/task.js';

/** Ids remembered as logged; past this many the memory starts over (a log line again). */
const REMEMBERED = 10_000;

/** Decodes wire tasks for a backend, skipping (and logging once) the undecodable ones. */
export class TaskDecoder {
  private readonly logged = new Set<string>();

  constructor(private readonly log: Logger) {}

  /** The tasks of a listing that decode, in order. */
  decodeAll(wires: readonly unknown[]): Task[] {
    const tasks: Task[] = [];
    for (const wire of wires) {
      try {
        tasks.push(Task.fromWire(wire));
      } catch (err) {
        this.skipped(wire, err);
      }
    }
    return tasks;
  }

  private skipped(wire: unknown, err: unknown): void {
    const id = typeof wire === 'object' && wire !== null && typeof (wire as { id?: unknown }).id === 'string' ? (wire as { id: string }).id : '?';
    if (this.logged.has(id)) return;
    if (this.logged.size >= REMEMBERED) this.logged.clear();
    this.logged.add(id);
    this.log.warn(`task ${id} cannot be decoded and is left out of listings: ${err instanceof Error ? err.message : String(err)}`);
  }
}
