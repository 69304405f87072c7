/**
 * Timer delays Node can hold: past 2^31-1 ms a timer fires after 1 ms instead (with a
 * TimeoutOverflowWarning), which turns a far deadline into a busy loop.
 */

/** The longest delay of a Node timer, in milliseconds (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** `ms` clamped to what a timer can hold (0 to MAX_TIMER_MS); a timer armed for the cap just re-arms. */
export function timerDelay(ms: number): number {
  return Math.min(MAX_TIMER_MS, Math.max(0, ms));
}
