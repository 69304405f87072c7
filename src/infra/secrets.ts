/**
 * Secrets kept out of sight: passwords in backend URLs are redacted wherever a URL is shown
 * (info, logs, errors, the command line's messages).
 */

/** What replaces a password in a shown URL. */
export const REDACTED = '***';

/**
 * `url` with its password (and a user name given alone, which Redis reads as a password)
 * replaced by `***`: `redis://:secret@host:6379/0` → `redis://:***@host:6379/0`. A text that is
 * not a URL has its `//user:password@` part redacted all the same.
 */
export function redactUrl(url: string): string {
  return String(url).replace(/(\/\/)([^/@\s]*)@/g, (_all, slashes: string, auth: string) => {
    const colon = auth.indexOf(':');
    if (colon < 0) return auth ? `${slashes}${REDACTED}@` : `${slashes}@`;
    return `${slashes}${auth.slice(0, colon)}:${REDACTED}@`;
  });
}

/** `text` (a message, a log line) with every URL password in it redacted. */
export function redactSecrets(text: string): string {
  return redactUrl(text);
}
