import { bundle } from './bundle.ts';

/**
 * `pnpm build`: each server entry point as one bundled ES module under its app's `dist/`, which
 * `pnpm start` and the Docker image run when present: less memory and a faster start
 * (docs/deployment.md). The image builds and runs in the same folder.
 */
const started = performance.now();
// Lets the bundled start-up tell it runs built (it then runs the built worker too).
const define = { 'process.env.TOUCH_CRM_BUNDLE': '"1"' };
await Promise.all([
  bundle({
    entryPoints: { main: 'apps/api/src/main.ts', start: 'apps/api/src/cli/start.ts' },
    outdir: 'apps/api/dist',
    define,
  }),
  // The operator CLIs too: the image runs them as `node apps/worker/dist/customers-import.js …`.
  bundle({
    entryPoints: {
      main: 'apps/worker/src/main.ts',
      jobs: 'apps/worker/src/cli/jobs.ts',
      'customers-import': 'apps/worker/src/cli/customers-import.ts',
      'customers-export': 'apps/worker/src/cli/customers-export.ts',
    },
    outdir: 'apps/worker/dist',
    define,
  }),
]);
console.log(`built apps/api/dist and apps/worker/dist in ${((performance.now() - started) / 1000).toFixed(1)} s`);
