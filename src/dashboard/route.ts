/**
 * The dashboard's files, served by the RpcServer under `/dashboard/`: the page and its modules
 * (src/dashboard/static, plain ES modules: no build step) and its front-end libraries (preact,
 * htm, uPlot) read from node_modules when the server starts, never from a CDN. The files hold no
 * data: the page reads and acts through JSON-RPC, so the server's bearer token guards both.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HttpRoute } from '../infra/http-route.js';

const STATIC_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'static');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** The page may load its own files only; styles inline (uPlot sizes its canvas with them). */
const HEADERS = {
  'Content-Security-Policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

/** A file served, read once. */
interface Asset {
  type: string;
  body: Buffer;
}

/**
 * The vendored libraries: `/dashboard/vendor/<name>` → the package's ES module. Bare imports
 * between them (`from "preact"`) become relative ones, so the browser needs no import map.
 */
function vendorAssets(): Map<string, Asset> {
  const require = createRequire(import.meta.url);
  // Some packages do not export their package.json: walk up from their entry point to it.
  const dirOf = (pkg: string) => {
    for (let dir = path.dirname(require.resolve(pkg)); dir !== path.dirname(dir); dir = path.dirname(dir)) {
      const manifest = path.join(dir, 'package.json');
      if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === pkg) return dir;
    }
    throw new Error(`cannot find the ${pkg} package the dashboard serves`);
  };
  const files: [string, string, string][] = [
    ['preact.mjs', path.join(dirOf('preact'), 'dist', 'preact.mjs'), '.mjs'],
    ['hooks.mjs', path.join(dirOf('preact'), 'hooks', 'dist', 'hooks.mjs'), '.mjs'],
    ['htm.mjs', path.join(dirOf('htm'), 'dist', 'htm.mjs'), '.mjs'],
    ['uplot.mjs', path.join(dirOf('uplot'), 'dist', 'uPlot.esm.js'), '.mjs'],
    ['uplot.css', path.join(dirOf('uplot'), 'dist', 'uPlot.min.css'), '.css'],
  ];
  return new Map(
    files.map(([name, file, ext]) => {
      let text = readFileSync(file, 'utf8').replace(/\/\/# sourceMappingURL=\S+/g, '');
      text = text.replace(/from\s*(["'])preact\1/g, 'from"./preact.mjs"');
      return [`vendor/${name}`, { type: TYPES[ext] as string, body: Buffer.from(text, 'utf8') }];
    }),
  );
}

/** The page and its modules: every file of src/dashboard/static. */
function staticAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(STATIC_DIR, { recursive: true }) as string[]) {
    const type = TYPES[path.extname(name)];
    if (!type) continue;
    assets.set(name.split(path.sep).join('/'), { type, body: readFileSync(path.join(STATIC_DIR, name)) });
  }
  return assets;
}

/** The `/dashboard/` route of an RpcServer. Public: its files hold no data. */
export function dashboardRoute(): HttpRoute & { public: true } {
  let assets: Map<string, Asset> | null = null;
  const load = () => (assets ??= new Map([...staticAssets(), ...vendorAssets()]));
  return {
    public: true,
    matches: (p) => p === '/dashboard' || p.startsWith('/dashboard/'),
    async start() {
      load();
    },
    async handle(req: IncomingMessage, res: ServerResponse, p: string): Promise<void> {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET', 'Content-Type': 'text/plain; charset=utf-8' }).end('use GET\n');
        return;
      }
      if (p === '/dashboard') {
        res.writeHead(302, { Location: '/dashboard/' }).end();
        return;
      }
      const name = p.slice('/dashboard/'.length) || 'index.html';
      const asset = load().get(name);
      if (!asset) {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`no dashboard file ${name}\n`);
        return;
      }
      res.writeHead(200, { ...HEADERS, 'Content-Type': asset.type, 'Content-Length': String(asset.body.length) });
      res.end(req.method === 'HEAD' ? undefined : asset.body);
    },
  };
}
