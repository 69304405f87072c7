/**
 * Why a job module did not load, in one line that says where: a syntax error becomes
 * `file:line:column: message`. tsx (esbuild) puts the place on the line after "Transform failed
 * with 1 error:"; Node's own SyntaxError of an ES module has no place at all, so the file is
 * checked with `node --check`, which prints it.
 */
import { spawnSync } from 'node:child_process';

/** The cause of a failed import of `file`, as one line naming the place when it is a syntax error. */
export function describeLoadError(err: unknown, file: string): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TransformError' || err.message.startsWith('Transform failed')) {
    for (const line of err.message.split('\n')) {
      // esbuild counts columns from 0; editors and Node from 1.
      const m = /^(.*):(\d+):(\d+): ERROR: (.*)$/.exec(line);
      if (m) return `syntax error at ${m[1]}:${m[2]}:${Number(m[3]) + 1}: ${m[4]}`;
    }
  }
  if (err.name === 'SyntaxError') {
    const place = syntaxErrorPlace(file);
    if (place) return `syntax error at ${place}: ${err.message}`;
  }
  return firstLine(err.message) || err.name;
}

/** `file:line:column` of the first syntax error Node finds in `file`, or null. */
function syntaxErrorPlace(file: string): string | null {
  const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 10_000 });
  if (check.status === 0 || typeof check.stderr !== 'string') return null;
  const lines = check.stderr.split('\n');
  const at = lines.findIndex((line) => /^.+:\d+$/.test(line));
  if (at < 0) return null;
  const caret = lines.slice(at + 1, at + 4).find((line) => /^\s*\^/.test(line));
  const column = caret === undefined ? '' : `:${caret.indexOf('^') + 1}`;
  return `${lines[at]}${column}`;
}

function firstLine(text: string): string {
  return text.split('\n').find((line) => line.trim()) ?? '';
}
