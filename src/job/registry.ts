/**
 * JobRegistry: the jobs an application knows, by name, and the loading of `taskPaths`.
 */
import { checkJobBounds } from './job-bounds.js';
import { checkKwargsSchema } from './kwargs-schema.js';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ImproperlyConfigured } from '../model/errors.js';
import { describeLoadError } from './load-errors.js';
import { ensureLoaderFor } from './ts-loader.js';
import { isAbstractJobClass, isJobClass, type Job, type JobClass, type JobType, type PeriodicJob } from './job.js';

const MODULE_EXTENSIONS = ['.ts', '.js', '.mjs', '.cjs', '.mts', '.cts'];

/** The jobs of one application, by name. */
export class JobRegistry {
  private readonly jobs = new Map<string, Job>();
  private readonly classes = new Map<string, JobClass>();

  /** Registers a concrete Job subclass; returns its instance. Abstract classes are ignored. */
  register(cls: JobClass): Job | null {
    if (!isJobClass(cls)) throw new ImproperlyConfigured(`${String(cls)} is not a Job subclass`);
    if (isAbstractJobClass(cls)) return null;
    const job = new cls();
    if (typeof job.run !== 'function') throw new ImproperlyConfigured(`Job ${cls.name} has no run() method`);
    if (!job.name || typeof job.name !== 'string') throw new ImproperlyConfigured(`Job ${cls.name} has no name`);
    if (job.kwargsSchema !== null && job.kwargsSchema !== undefined) checkKwargsSchema(job.name, job.kwargsSchema);
    checkJobBounds(job);
    const existing = this.classes.get(job.name);
    if (existing === cls) return this.jobs.get(job.name) ?? null;
    if (existing) {
      throw new ImproperlyConfigured(`Two jobs are named "${job.name}": ${existing.name} and ${cls.name}`);
    }
    // By type, not instanceof: the class may come from another instance of job.ts (see isJobClass).
    if (job.type === 'periodic' && !(job as PeriodicJob).runEvery && !(job as PeriodicJob).cron) {
      throw new ImproperlyConfigured(`Periodic job "${job.name}" needs runEvery or cron`);
    }
    this.jobs.set(job.name, job);
    this.classes.set(job.name, cls);
    return job;
  }

  /** The job of that name, or undefined. */
  get(name: string): Job | undefined {
    return this.jobs.get(name);
  }

  has(name: string): boolean {
    return this.jobs.has(name);
  }

  /** Job names, sorted. */
  names(): string[] {
    return [...this.jobs.keys()].sort();
  }

  /** The class registered under that name. */
  classOf(name: string): JobClass | undefined {
    return this.classes.get(name);
  }

  /** Every regular job. */
  regular(): Job[] {
    return this.filterTypes('regular');
  }

  /** Every periodic job. */
  periodic(): PeriodicJob[] {
    return this.filterTypes('periodic') as PeriodicJob[];
  }

  /** Jobs of one type, by name. */
  filterTypes(type: JobType): Job[] {
    return this.names()
      .map((n) => this.jobs.get(n) as Job)
      .filter((j) => j.type === type);
  }

  get size(): number {
    return this.jobs.size;
  }

  /**
   * Loads job modules: each entry is a module path (relative to `cwd`, or absolute), or a folder
   * followed by `/*` for every module directly in it whose name does not start with `_`.
   * Every exported concrete Job subclass is registered. A path that does not load is an error.
   */
  static async load(taskPaths: readonly string[], options: { cwd?: string; registry?: JobRegistry } = {}): Promise<JobRegistry> {
    const registry = options.registry ?? new JobRegistry();
    const cwd = options.cwd ?? process.cwd();
    for (const entry of taskPaths) {
      for (const file of expandTaskPath(entry, cwd)) {
        await registry.loadModule(file, entry);
      }
    }
    return registry;
  }

  /** Imports one module file and registers its exported jobs. */
  async loadModule(file: string, entry = file): Promise<void> {
    let mod: Record<string, unknown>;
    try {
      await ensureLoaderFor(file);
      mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (err) {
      throw new ImproperlyConfigured(`Cannot load task path "${entry}" (${file}): ${describeLoadError(err, file)}`, { cause: err });
    }
    const seen = new Set<unknown>();
    for (const value of Object.values(mod)) {
      if (seen.has(value) || !isJobClass(value)) continue;
      seen.add(value);
      this.register(value);
    }
  }

  /** Registers classes given directly (config `jobs: [...]`). */
  static fromClasses(classes: readonly JobClass[], registry = new JobRegistry()): JobRegistry {
    for (const cls of classes) registry.register(cls);
    return registry;
  }
}

function isJobModule(name: string): boolean {
  if (name.startsWith('_') || name.startsWith('.')) return false;
  if (/\.d\.[cm]?ts$/.test(name)) return false;
  if (/\.(spec|test)\.[cm]?[jt]s$/.test(name)) return false;
  return MODULE_EXTENSIONS.includes(path.extname(name));
}

/** The module files an entry of `taskPaths` names; throws ImproperlyConfigured if there are none. */
export function expandTaskPath(entry: string, cwd = process.cwd()): string[] {
  if (typeof entry !== 'string' || !entry.trim()) throw new ImproperlyConfigured(`Task path ${JSON.stringify(entry)} is empty`);
  if (entry.endsWith('/*')) {
    const dir = path.resolve(cwd, entry.slice(0, -2));
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (err) {
      throw new ImproperlyConfigured(`Cannot load task path "${entry}": ${(err as Error).message}`, { cause: err });
    }
    return names
      .filter(isJobModule)
      .sort()
      .map((n) => path.join(dir, n))
      .filter((f) => statSync(f).isFile());
  }
  const file = path.resolve(cwd, entry);
  try {
    if (statSync(file).isFile()) return [file];
  } catch {
    // Maybe a module path without its extension.
  }
  for (const ext of MODULE_EXTENSIONS) {
    try {
      if (statSync(file + ext).isFile()) return [file + ext];
    } catch {
      // try the next extension
    }
  }
  throw new ImproperlyConfigured(`Cannot load task path "${entry}": no such module (${file})`);
}
