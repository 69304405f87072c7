/**
 * Headless Chromium for the dashboard specs (Debian's /usr/bin/chromium driven by playwright-core),
 * launched with a fresh profile and no background networking. Missing Chromium: the specs skip
 * loudly on a developer machine and fail in CI (.ci/run installs it).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** True when Chromium is installed; in CI a missing one is an error. */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  const why = `Chromium is not installed at ${CHROMIUM} (apt-get install -y chromium)`;
  if (process.env.CI) throw new Error(`${why}: CI never skips the dashboard specs`);
  console.warn(`\n!!! SKIPPING THE DASHBOARD SPECS: ${why}\n`);
  return false;
}

/** A browser (its context) and its throw-away profile; `close()` removes both. */
export interface Chromium {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Launches Chromium on a fresh profile (the `--user-data-dir` playwright passes for it). */
export async function launchChromium(): Promise<Chromium> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'pulsar-dashboard-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
