/**
 * The package as its users get it: the bench measures the build in dist/ (`npm run build`, what
 * `import 'pulsar-tasks'` resolves to through package.json "exports"), as it measures BullMQ and
 * bee-queue as published, not the TypeScript sources run through tsx. Measured (scratch runs on
 * redis://, 2 workers × 50, sequential round trips): the sources through tsx cost the producer
 * about 20% more CPU per round trip (steady 184–199 against 151–154 µs).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Builds the package (dist/) from the sources as they are now: a stale build would be measured. */
export function buildPackage(): void {
  console.log('building the package (npm run build) to measure it as published…');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
}

/** The package name, resolved by Node to dist/src/index.js (a variable: no types from dist needed). */
export const PACKAGE = 'pulsar-tasks';
