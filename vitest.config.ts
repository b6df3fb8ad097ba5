import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// V8 keeps compiled code on disk for the test workers and for every API, worker and CLI process
// the tests spawn (they inherit the environment), so only the first run compiles them.
process.env.NODE_COMPILE_CACHE ??= join(tmpdir(), 'touch-crm-compile-cache');

export default defineConfig({
  test: {
    include: ['apps/*/test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    globalSetup: ['vitest.global-setup.ts'],
    setupFiles: ['vitest.setup.ts'],
    pool: 'forks',
    // Node runs the TypeScript sources itself, as `pnpm start` does, instead of Vite transforming
    // and evaluating the app's ~1,200 modules again for every file.
    experimental: { viteModuleRunner: false },
    // A worker process runs file after file with the modules already loaded. Files stay apart by
    // what they own: each clones its own database and starts and closes its own servers.
    isolate: false,
    // Much of a file's time is spent waiting on PostgreSQL, a worker's poll or a child process: two
    // files at a time even on 2 cores (the default there is one), and no more, as the tests that
    // spawn processes or count carrier calls per second still need a core to answer in time.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 90_000,
    teardownTimeout: 30_000,
  },
});
