/**
 * Small wording helpers for messages people read.
 */

/** `1 second`, `2 seconds`, `0.5 seconds`. */
export function secondsText(n: number): string {
  return `${n} ${n === 1 ? 'second' : 'seconds'}`;
}
