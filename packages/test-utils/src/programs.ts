import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where the run's global setup bundled the programs; absent when the tests run the sources. */
    programsDir?: string;
  }
}

/** The programs the tests spawn, by their source files (relative to the repository root). */
export const PROGRAM_SOURCES = {
  api: 'apps/api/src/main.ts',
  worker: 'apps/worker/src/main.ts',
  jobs: 'apps/worker/src/cli/jobs.ts',
  'customers-import': 'apps/worker/src/cli/customers-import.ts',
  'customers-export': 'apps/worker/src/cli/customers-export.ts',
  'seed-demo': 'apps/worker/src/cli/seed-demo.ts',
} as const;

export type Program = keyof typeof PROGRAM_SOURCES;

const root = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * The file to run with `node` for a program: the run's fresh bundle (vitest.global-setup.ts bundles
 * them at the start of every run), or its TypeScript source when the run has no bundles
 * (`TEST_PROGRAMS=source`, see CONTRIBUTING.md).
 */
export function programFile(program: Program): string {
  const dir = inject('programsDir');
  return dir ? join(dir, `${program}.js`) : join(root, PROGRAM_SOURCES[program]);
}
