import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import setupDatabase from '@touch-crm/test-utils/global-setup';
import { PROGRAM_SOURCES } from '@touch-crm/test-utils/programs';
import type { TestProject } from 'vitest/node';
import { bundle } from './scripts/bundle.ts';

/**
 * The run's PostgreSQL (packages/test-utils/src/global-setup.ts) and, meanwhile, the programs the
 * tests spawn (API, worker, CLIs) bundled fresh into a temporary folder: a spawned API then starts
 * on a third of the CPU the sources cost. Bundled at every run (and again on every watch rerun), so
 * no test runs stale code; `TEST_PROGRAMS=source` runs the sources instead.
 */
export default async function setup(project: TestProject) {
  if (process.env.TEST_PROGRAMS === 'source') return setupDatabase(project);
  const dir = await mkdtemp(join(tmpdir(), 'touch-crm-programs-'));
  const bundlePrograms = () => bundle({ entryPoints: PROGRAM_SOURCES, outdir: dir });
  const [database, bundled] = await Promise.allSettled([setupDatabase(project), bundlePrograms()]);
  if (database.status === 'rejected' || bundled.status === 'rejected') {
    // Neither half left behind: a running PostgreSQL, a folder of bundles.
    if (database.status === 'fulfilled') await database.value();
    await rm(dir, { recursive: true, force: true });
    throw database.status === 'rejected' ? database.reason : (bundled as PromiseRejectedResult).reason;
  }
  const stopDatabase = database.value;
  project.provide('programsDir', dir);
  project.onTestsRerun(bundlePrograms);
  return async () => {
    await stopDatabase();
    await rm(dir, { recursive: true, force: true });
  };
}
