// Formatting of states, times and values for the views.

export const STATES = { 1: 'SUCCESS', 2: 'FAILURE', 3: 'REVOKED', 4: 'RETRY', 5: 'STARTED', 6: 'QUEUED' };
export const STATE_CODES = Object.fromEntries(Object.entries(STATES).map(([code, name]) => [name, Number(code)]));

export function stateName(code) {
  return STATES[code] || 'UNKNOWN';
}

/** Epoch seconds → local date and time, or '' for null. */
export function time(seconds) {
  if (seconds === null || seconds === undefined) return '';
  const d = new Date(seconds * 1000);
  return d.toLocaleString(undefined, { hour12: false });
}

/** Seconds → `1.2 s`, `3 min 4 s`, `2 h 5 min`, `3 d 4 h`. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return '';
  const s = Math.abs(seconds);
  if (s < 10) return `${s.toFixed(s < 1 ? 3 : 1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.round((s % 86400) / 3600)} h`;
}

/** A JSON value as short text. */
export function short(value, max = 60) {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A progress value as a fraction in [0, 1], or null (same rule as the CLI). */
export function progressFraction(value) {
  if (typeof value === 'number' && Number.isFinite(value)) {
    if (value >= 0 && value <= 1) return value;
    if (value > 1 && value <= 100) return value / 100;
    return null;
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const done = value.current ?? value.done ?? value.value;
    if (typeof value.total === 'number' && value.total > 0 && typeof done === 'number' && done >= 0) return Math.min(1, done / value.total);
  }
  return null;
}
