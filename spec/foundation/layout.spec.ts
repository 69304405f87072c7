/**
 * The layout of DESIGN.md kept: no import circle joins any two modules of src/ and actors/, and the
 * producer API (src/producer) and the worker side (src/worker) stay in separate rooms, the store
 * contract and the backends below both. Imports are read with TypeScript's own pre-processor
 * (static, dynamic and type-only imports and re-exports alike).
 */
import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Modules (paths from the project root) and the modules each imports. */
function importGraph(folders: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of folders.flatMap((f) => tsFiles(join(ROOT, f)))) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = importedFiles.map((i) => i.fileName).filter((s) => s.startsWith('.')).map((s) => resolveModule(file, s));
    graph.set(relative(ROOT, file), targets.filter((t): t is string => t !== null).map((t) => relative(ROOT, t)));
  }
  return graph;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The .ts file a relative specifier names (`./x.js` is written for `./x.ts`); null for other files. */
function resolveModule(from: string, specifier: string): string | null {
  const base = resolve(dirname(from), specifier);
  const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((c) => c.endsWith('.ts') && existsSync(c)) ?? null;
}

/** Every import circle (strongly connected component of more than one module, or a self-import). */
function circles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node) as number, low.get(to) as number));
      } else if (onStack.has(to)) low.set(node, Math.min(low.get(node) as number, index.get(to) as number));
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    for (let m = stack.pop(); m !== undefined; m = stack.pop()) {
      onStack.delete(m);
      component.push(m);
      if (m === node) break;
    }
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

/** Folder-to-folder imports found, as `src/a -> src/b: file imports file`. */
function crossings(graph: Map<string, string[]>, from: string, to: readonly string[]): string[] {
  const inFolder = (file: string, folder: string) => file.startsWith(`${folder}/`);
  return [...graph].flatMap(([file, targets]) =>
    inFolder(file, from) ? targets.filter((t) => to.some((f) => inFolder(t, f))).map((t) => `${file} imports ${t}`) : [],
  );
}

describe('source layout (DESIGN.md)', () => {
  const graph = importGraph(['src', 'actors']);

  it('reads the imports of every module', () => {
    expect(graph.size).to.be.greaterThan(100);
    // A module known to import others, so a reader that found nothing would fail here.
    expect(graph.get('src/producer/backend.ts')).to.include('src/store/contract.ts');
  });

  it('finds a circle where there is one (the check itself)', () => {
    const sample = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(circles(sample)).to.deep.equal([['a.ts', 'b.ts', 'c.ts']]);
  });

  it('has no import circle between modules of src/ and actors/', () => {
    expect(circles(graph)).to.deep.equal([]);
  });

  it('keeps the producer API and the worker side apart, with the store contract and backends below both', () => {
    expect(crossings(graph, 'src/producer', ['src/worker', 'src/app', 'actors'])).to.deep.equal([]);
    expect(crossings(graph, 'src/backends', ['src/producer', 'src/worker', 'src/app', 'actors'])).to.deep.equal([]);
    expect(crossings(graph, 'src/store', ['src/backends', 'src/producer', 'src/worker', 'src/app', 'actors'])).to.deep.equal([]);
    expect(crossings(graph, 'src/model', ['src/job', 'src/store', 'src/backends', 'src/producer', 'src/worker', 'src/app', 'actors'])).to.deep.equal([]);
    expect(crossings(graph, 'src/job', ['src/store', 'src/backends', 'src/producer', 'src/worker', 'src/app', 'actors'])).to.deep.equal([]);
  });
});
