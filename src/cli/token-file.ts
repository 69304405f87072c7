/**
 * Tokens read from a file (`--rpc-token-file`, `--token-file`), so that they are not visible in
 * `ps` as a command-line argument would be.
 */
import { readFileSync } from 'node:fs';
import { CliError } from './values.js';

/**
 * The token in `file`: its first line, trimmed. Throws CliError naming the file when it cannot be
 * read or holds no token.
 */
export function readTokenFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read the token file ${file}: ${(err as Error).message}`);
  }
  const token = text.split(/\r?\n/, 1)[0]?.trim() ?? '';
  if (!token) throw new CliError(`the token file ${file} is empty: write the token on its first line`);
  return token;
}
