import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = (path: string) => new URL(`../../../${path}`, import.meta.url).pathname;

/** One probe module per case: where it sits, what it imports, and whether `pnpm lint` lets it. */
const PROBES = [
  { file: 'packages/db/src/probe-services.ts', from: '@touch-crm/services', allowed: false },
  { file: 'packages/db/src/probe-jobs.ts', from: '@touch-crm/jobs', allowed: false },
  { file: 'packages/db/src/probe-config.ts', from: '@touch-crm/config', allowed: true },
  { file: 'packages/services/src/probe-api.ts', from: '@touch-crm/api', allowed: false },
  { file: 'packages/services/src/probe-worker.ts', from: '@touch-crm/worker', allowed: false },
  { file: 'packages/services/src/probe-db.ts', from: '@touch-crm/db', allowed: true },
  { file: 'packages/contract/src/probe-config.ts', from: '@touch-crm/config', allowed: false },
  { file: 'packages/contract/src/probe-zod.ts', from: 'zod', allowed: true },
  { file: 'packages/test-utils/src/probe-app.ts', from: '@touch-crm/api-server', allowed: false },
  { file: 'packages/test-utils/src/probe-app-path.ts', from: '../../../apps/api/src/server.ts', allowed: false },
  { file: 'packages/test-utils/src/probe-api.ts', from: '@touch-crm/api', allowed: true },
  { file: 'apps/worker/src/probe-services.ts', from: '@touch-crm/services', allowed: true },
];

describe('layer rules in biome.json (run by pnpm lint)', () => {
  let dir: string;
  let refused: Set<string>;
  beforeAll(async () => {
    // A copy of the configuration over probe files in a scratch tree, so the real tree is never written.
    dir = await mkdtemp(join(tmpdir(), 'touch-crm-layers-'));
    const config = JSON.parse(await readFile(repo('biome.json'), 'utf8'));
    delete config.$schema;
    await writeFile(join(dir, 'biome.json'), JSON.stringify(config));
    for (const probe of PROBES) {
      await mkdir(join(dir, dirname(probe.file)), { recursive: true });
      await writeFile(join(dir, probe.file), `import { x } from '${probe.from}';\n\nexport const y = x;\n`);
    }
    const lint = spawnSync(repo('node_modules/.bin/biome'), ['lint', '--vcs-enabled=false', '--reporter=json', '.'], {
      cwd: dir,
      encoding: 'utf8',
    });
    const report = JSON.parse(lint.stdout.slice(lint.stdout.indexOf('{'))) as {
      diagnostics: { category: string; location: { path: string } }[];
    };
    refused = new Set(
      report.diagnostics
        .filter((diagnostic) => diagnostic.category === 'lint/style/noRestrictedImports')
        .map((diagnostic) => diagnostic.location.path),
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it.each(PROBES)('$file importing $from: allowed $allowed', ({ file, allowed }) => {
    expect(refused.has(file)).toBe(!allowed);
  });
});
