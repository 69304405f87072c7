#!/usr/bin/env node
// The `pulsar-tasks` command. Installed from npm, it runs the compiled JavaScript in dist/ and
// registers tsx only when a job module is TypeScript. In the repository it runs the TypeScript
// sources through tsx, so that an edited source always runs, never a stale dist/.
// PULSAR_TASKS_RUN=dist or =src forces one or the other.
import { existsSync } from 'node:fs';
import { fileURLToPath, URL } from 'node:url';

const root = new URL('../', import.meta.url);
const compiled = new URL('dist/src/cli.js', root);
const installed = fileURLToPath(root).split(/[\\/]/).includes('node_modules');
const wanted = process.env.PULSAR_TASKS_RUN;
const useDist = wanted === 'dist' || (wanted !== 'src' && installed && existsSync(compiled));

if (useDist) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  globalThis[Symbol.for('pulsar-tasks.tsx')] = true;
  await import(new URL('src/cli.ts', root).href);
}
