import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { programFile } from '@touch-crm/test-utils';
import { describe, expect, it } from 'vitest';
import { importHelpers, useImportEnvironment } from './support-import.ts';

const env = useImportEnvironment();

const { sql, phone, importCsv, customerByPhone } = importHelpers(() => env);

describe('the timeZone column of the customer import', () => {
  it('sets an IANA zone in the server’s spelling, keeps an empty cell as it is, and reports a bad one per row', async () => {
    const [chicago, lower, bad, empty] = [phone(), phone(), phone(), phone()];
    const csv =
      'firstName,lastName,phone,timeZone\n' +
      `Cara,Zone,${chicago},America/Chicago\n` +
      `Lou,Zone,${lower},america/los_angeles\n` +
      `Bea,Zone,${bad},Mars/Olympus\n` +
      `Emma,Zone,${empty},\n`;
    const { accepted, done } = await importCsv(csv);
    expect(accepted.columns.map((column: { field: string }) => column.field)).toContain('timeZone');
    expect(done).toMatchObject({ status: 'COMPLETED', created: 3, failed: 1 });
    expect(done.errors.items).toEqual([
      { rowNumber: 3, field: 'timeZone', message: 'expected an IANA time zone such as America/New_York' },
    ]);
    expect((await customerByPhone(chicago))[0].time_zone).toBe('America/Chicago');
    expect((await customerByPhone(lower))[0].time_zone).toBe('America/Los_Angeles');
    expect(await customerByPhone(bad)).toHaveLength(0);
    // A number of the United States (several clocks) gets no zone from its phone.
    expect((await customerByPhone(empty))[0].time_zone).toBeNull();

    // A second import changes the zone, records the change, and leaves it alone when the cell is empty.
    const again = await importCsv(`phone,timeZone\n${chicago},America/Denver\n${lower},\n`);
    expect(again.done).toMatchObject({ status: 'COMPLETED', updated: 1, unchanged: 1 });
    const [denver] = await customerByPhone(chicago);
    expect(denver.time_zone).toBe('America/Denver');
    const audit = await sql()`select changes from audit_log where entity_id = ${denver.id} and changes ? 'timeZone'`;
    expect(audit.map((entry) => entry.changes)).toEqual([
      { timeZone: { before: 'America/Chicago', after: 'America/Denver' } },
    ]);
    expect((await customerByPhone(lower))[0].time_zone).toBe('America/Los_Angeles');
  });

  it('reports a zone PostgreSQL cannot read, or a UTC offset, per row', async () => {
    const [systemV, offset, regina] = [phone(), phone(), phone()];
    const { done } = await importCsv(
      'firstName,lastName,phone,timeZone\n' +
        `Sy,Zone,${systemV},SystemV/AST4\n` +
        `Off,Zone,${offset},+06:30\n` +
        `Reg,Zone,${regina},Canada/East-Saskatchewan\n`,
    );
    expect(done).toMatchObject({ status: 'COMPLETED', created: 0, failed: 3 });
    expect(done.errors.items).toEqual(
      [1, 2, 3].map((rowNumber) => ({
        rowNumber,
        field: 'timeZone',
        message: 'expected an IANA time zone such as America/New_York',
      })),
    );
    expect(await customerByPhone(regina)).toHaveLength(0);
  });

  it('keeps a zone as the API keeps it, so an export imports back unchanged', async () => {
    const [kyiv, kolkata] = [phone(), phone()];
    await importCsv(
      `firstName,lastName,phone,timeZone\nKyi,Zone,${kyiv},Europe/Kyiv\nKol,Zone,${kolkata},asia/kolkata\n`,
    );
    expect((await customerByPhone(kyiv))[0].time_zone).toBe('Europe/Kyiv');
    expect((await customerByPhone(kolkata))[0].time_zone).toBe('Asia/Kolkata');
    const again = await importCsv(`phone,timeZone\n${kyiv},Europe/Kyiv\n${kolkata},Asia/Kolkata\n`);
    expect(again.done).toMatchObject({ status: 'COMPLETED', updated: 0, unchanged: 2 });
  });

  it('derives the zone of a new customer from a single-clock country’s phone when the cell is empty', async () => {
    const german = `+4930${String(Date.now()).slice(-7)}`;
    await importCsv(`firstName,lastName,phone\nGerd,Zone,${german}\n`);
    expect((await customerByPhone(german))[0].time_zone).toBe('Europe/Berlin');
  });
});

describe('the customer export', () => {
  it('carries the time zone, so an export imports back with it', async () => {
    const e164 = phone();
    await importCsv(`firstName,lastName,phone,timeZone\nXena,Export,${e164},Asia/Tokyo\n`);
    const response = await fetch(`${env.api.url}/api/v1/customers/export?search=Xena`, {
      headers: { authorization: `Bearer ${env.team.manager.token}` },
    });
    const [header, row] = (await response.text()).trim().split(/\r?\n/);
    const columns = header?.split(',') ?? [];
    expect(columns).toContain('timeZone');
    expect(row?.split(',')[columns.indexOf('timeZone')]).toBe('Asia/Tokyo');
  });
});

describe('the operator CLI', () => {
  it('pnpm customers:import reads the timeZone column and names a bad one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'touch-import-'));
    try {
      const [good, bad] = [phone(), phone()];
      const file = join(dir, 'zones.csv');
      await writeFile(
        file,
        `firstName,lastName,phone,timeZone\nCli,Zone,${good},Europe/Paris\nCli,Bad,${bad},Nowhere\n`,
      );
      const run = spawnSync(
        process.execPath,
        [programFile('customers-import'), file, '--owner', env.team.rep.username],
        {
          env: { ...process.env, DATABASE_URL: env.api.databaseUrl, LOG_LEVEL: 'warn', NODE_ENV: 'development' },
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
      expect(run.status, run.stderr).toBe(3);
      expect(run.stdout).toContain('row 2, timeZone: expected an IANA time zone');
      expect((await customerByPhone(good))[0].time_zone).toBe('Europe/Paris');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
