import { existsSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * `pnpm start`, `start:api`, `start:worker`: the bundle `pnpm build` wrote when it is there, else
 * the TypeScript sources. Plain JavaScript, so choosing costs no type stripping.
 */
const entries = {
  start: ['apps/api/dist/start.js', 'apps/api/src/cli/start.ts'],
  api: ['apps/api/dist/main.js', 'apps/api/src/main.ts'],
  worker: ['apps/worker/dist/main.js', 'apps/worker/src/main.ts'],
};
const [built, source] = entries[process.argv[2]] ?? [];
if (!source) throw new Error(`usage: start.mjs ${Object.keys(entries).join('|')}`);
const root = new URL('../', import.meta.url);
// V8 keeps the compiled code on disk (NODE_COMPILE_CACHE, else a folder under the OS temp dir):
// from the second start on, the bundle is not compiled again.
enableCompileCache();
const entry = existsSync(fileURLToPath(new URL(built, root))) ? built : source;
await import(new URL(entry, root).href);
