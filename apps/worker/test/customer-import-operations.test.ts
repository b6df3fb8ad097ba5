import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CUSTOMER_EXPORT_COLUMNS, IMPORT_BATCH } from '@touch-crm/services';
import { insertCustomer, programFile, unique, waitFor } from '@touch-crm/test-utils';
import { describe, expect, it } from 'vitest';
import { importHelpers, useImportEnvironment } from './support-import.ts';

const env = useImportEnvironment();

const { sql, phone, upload, getImport, customerByPhone } = importHelpers(() => env);

// Each command is a fresh Node process loading the app: as long as a command's timeout on a busy machine.
describe('the operator CLI', { timeout: 120_000 }, () => {
  const cli = (program: 'customers-import' | 'customers-export', args: string[]) =>
    spawnSync(process.execPath, [programFile(program), ...args], {
      env: { ...process.env, DATABASE_URL: env.api.databaseUrl, LOG_LEVEL: 'warn', NODE_ENV: 'development' },
      encoding: 'utf8',
      timeout: 60_000,
    });

  it('pnpm customers:import FILE [--dry-run] [--owner USERNAME]: same rules, plain progress lines off a terminal', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'touch-import-'));
    try {
      const [p1, p2] = [phone(), phone()];
      const file = join(dir, 'people.csv');
      await writeFile(file, `firstName;lastName;phone;email\nCli;One;${p1};\nCli;Two;${p2};broken\n`);
      const dry = cli('customers-import', [file, '--dry-run']);
      expect(dry.status, dry.stderr).toBe(3);
      expect(dry.stdout).toContain('1 created');
      expect(dry.stdout).toContain('row 2, email: not a valid email address');
      expect(await customerByPhone(p1)).toHaveLength(0);

      const real = cli('customers-import', [file, '--owner', env.team.rep.username]);
      expect(real.status, real.stderr).toBe(3);
      expect(real.stderr).toMatch(/importing: 2\/2 \(100%\)/);
      const [row] = await customerByPhone(p1);
      expect(row.owner_username).toBe(env.team.rep.username);
      const [event] = await sql()`select actor_user_id, actor_job from domain_events where entity_id = ${row.id}`;
      expect(event).toEqual({ actor_user_id: null, actor_job: 'cli:customers:import' });

      const bad = cli('customers-import', [file, '--owner', 'nobody-at-all']);
      expect(bad.status).toBe(1);
      expect(bad.stderr).toContain('nobody-at-all');
      expect(cli('customers-import', []).status).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('pnpm customers:export [--format] [filters]: the export on stdout, progress on stderr', async () => {
    const tag = unique('Clix');
    const customer = await insertCustomer(env.api.deps, env.team.rep.id, { lastName: tag, status: 'INACTIVE' });
    const csv = cli('customers-export', ['--search', tag, '--status', 'INACTIVE']);
    expect(csv.status, csv.stderr).toBe(0);
    const lines = csv.stdout.trim().split('\r\n');
    expect(lines[0]).toBe(CUSTOMER_EXPORT_COLUMNS.join(','));
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(customer.id);
    expect(csv.stderr).toContain('customers:export: 1 rows');
    const json = cli('customers-export', ['--format', 'json', '--owner', env.team.rep.username, '--search', tag]);
    expect(JSON.parse(json.stdout.trim())).toMatchObject({ id: customer.id, ownerUsername: env.team.rep.username });
    expect(cli('customers-export', ['--status', 'NOPE']).status).toBe(2);
  });
});

describe('a file of several batches', () => {
  // The 100,000-row import and its memory are measured by `pnpm bench` (csv.import, csv.import-rss).
  it('imports within the job batch by batch, committing progress in whole batches', { timeout: 60_000 }, async () => {
    const rows = IMPORT_BATCH * 3 + 17;
    // No CUSTOMER rows: welcome SMS would have the same worker deliver them meanwhile.
    const statuses = ['LEAD', 'PROSPECT', 'INACTIVE', 'LEAD'];
    let csv = 'firstName,lastName,phone,email,status,smsOptIn\n';
    // +1 720 2xx xxxx: valid, and used by no other test.
    for (let i = 0; i < rows; i++)
      csv += `First${i},Last${i},+1720${2_000_000 + i},p${i}@example.com,${statuses[i % 4]},${i % 2 ? 'yes' : 'no'}\n`;
    const seen = new Set<number>();
    const accepted = await upload(csv);
    expect(accepted.status).toBe(202);
    const done = await waitFor(
      async () => {
        const res = await getImport(accepted.body.id, env.team.manager.token, '?pageSize=1');
        seen.add(res.body.rowsRead);
        return res.body.status === 'COMPLETED' || res.body.status === 'FAILED' ? res.body : null;
      },
      { timeoutMs: 50_000, intervalMs: 20, what: `the ${rows}-row import` },
    );
    expect(done).toMatchObject({ status: 'COMPLETED', rowsRead: rows, created: rows, failed: 0 });
    // Progress commits batch by batch: any intermediate count is whole batches.
    for (const n of [...seen].filter((count) => count > 0 && count < rows)) expect(n % IMPORT_BATCH).toBe(0);
    const [{ n }] = (await sql()`select count(*)::int as n from customers where phone like '+17202%'`) as [
      { n: number },
    ];
    expect(n).toBe(rows);
  });
});
