import { ROLE_NAMES } from '@touch-crm/contract';
import { roleIdsByName } from '@touch-crm/db';
import { createLogger, errorForLog } from '@touch-crm/logger';
import { createTeam, startTestApi, type TestApi, unique } from '@touch-crm/test-utils';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

// The API logs through the same logger the process builds (createLogger), into this buffer.
const lines: string[] = [];
let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;
let roleIds: Record<string, string>;

beforeAll(async () => {
  api = await startTestApi({ log: createLogger('info', 'api', { write: (line: string) => void lines.push(line) }) });
  team = await createTeam(api.deps);
  roleIds = await roleIdsByName(api.deps.db);
});
afterAll(() => api?.close());

/** A real failure: a check constraint no row passes (NOT VALID, so existing rows stay), dropped after. */
const CONSTRAINT = 'log_test_refuses_every_row';
const refuseWritesTo = (table: 'webhooks' | 'users') =>
  api.deps.db.execute(sql.raw(`alter table ${table} add constraint ${CONSTRAINT} check (false) not valid`));
let refused: string | undefined;
beforeEach(() => {
  lines.length = 0;
});
afterEach(async () => {
  if (refused) await api.deps.db.execute(sql.raw(`alter table ${refused} drop constraint ${CONSTRAINT}`));
  refused = undefined;
});

/** This test's log, once it holds each failure: a database error as SQLSTATE, constraint, table, column. */
function failuresLogged(table: string, count: number) {
  const errors = lines.map((line) => JSON.parse(line)).filter((line) => line.msg === 'unhandled error');
  expect(errors.map((line) => line.err)).toEqual(
    Array(count).fill(
      expect.objectContaining({ type: 'DatabaseError', sqlstate: '23514', constraint: CONSTRAINT, table }),
    ),
  );
  return lines.join('\n');
}

describe('database errors are logged without their parameters', () => {
  it('a failed webhook insert does not log the new signing secret', async () => {
    refused = 'webhooks';
    await refuseWritesTo('webhooks');
    const response = await api.rest('POST', '/webhooks', {
      token: team.admin.token,
      body: { url: 'https://203.0.113.10/hooks', events: '*' },
    });
    expect(response.status).toBe(500);
    expect(response.text).not.toContain('whsec_');
    const log = failuresLogged('webhooks', 1);
    expect(log).not.toContain('whsec_');
    expect(log).not.toContain('Failing row');
  });

  it('a failed register does not log the password, its argon2 hash or the personal data', async () => {
    refused = 'users';
    await refuseWritesTo('users');
    const person = {
      username: unique('logged'),
      password: 'Correct-Horse-Battery-7',
      fullName: 'Ada Privatperson',
      email: `${unique('ada')}@example.com`,
      phone: '+12025550163',
      roleId: roleIds[ROLE_NAMES.salesRep],
    };
    const response = await api.rest('POST', '/auth/register', { token: team.admin.token, body: person });
    expect(response.status).toBe(500);
    const log = failuresLogged('users', 1);
    for (const value of [person.password, '$argon2', person.fullName, person.email, person.phone, person.username])
      expect(log).not.toContain(value);
  });

  it('a failed user update or password change does not log the personal data, password or hash', async () => {
    refused = 'users';
    await refuseWritesTo('users');
    const update = { fullName: 'Bertha Geheim', email: `${unique('bertha')}@example.com`, phone: '+12025550188' };
    const updated = await api.rest('PUT', `/users/${team.rep.id}`, { token: team.admin.token, body: update });
    expect(updated.status).toBe(500);
    const newPassword = 'Another-Secret-Phrase-9';
    const changed = await api.rest('POST', '/auth/change-password', {
      token: team.manager.token,
      body: { currentPassword: team.manager.password, newPassword },
    });
    expect(changed.status).toBe(500);
    const log = failuresLogged('users', 2);
    for (const value of [update.fullName, update.email, update.phone, newPassword, team.manager.password, '$argon2'])
      expect(log).not.toContain(value);
  });
});

describe('secrets under their usual keys are redacted', () => {
  it('authorization headers, passwords, hashes, secrets and tokens', () => {
    const captured: string[] = [];
    const log = createLogger('info', 'worker', { write: (line: string) => void captured.push(line) });
    log.info({
      headers: { authorization: 'Bearer eyJ-header-token' },
      password: 'pw-top-level',
      user: { passwordHash: '$argon2id$v=19$m=19456', newPassword: 'pw-nested' },
      webhook: { request: { secret: 'whsec_nested_twice' } },
      token: 'eyJ-top-level',
    });
    const line = captured.join('');
    for (const value of ['eyJ-header-token', 'pw-top-level', '$argon2id', 'pw-nested', 'whsec_nested', 'eyJ-top'])
      expect(line).not.toContain(value);
    expect(JSON.parse(line).user.passwordHash).toBe('[redacted]');
  });
});

describe('errors of other shapes', () => {
  it("node-postgres's (pg-boss) server errors, and a failed statement without a server error", () => {
    const pgBoss = Object.assign(new Error('duplicate key value violates unique constraint "job_pkey"'), {
      code: '23505',
      severity: 'ERROR',
      constraint: 'job_pkey',
      table: 'job',
      detail: 'Key (id)=(secret-value) already exists.',
    });
    expect(errorForLog(pgBoss)).toMatchObject({ type: 'DatabaseError', sqlstate: '23505', constraint: 'job_pkey' });
    expect(JSON.stringify(errorForLog(pgBoss))).not.toContain('secret-value');
    const connection = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const failed = Object.assign(new Error('Failed query: insert …\nparams: whsec_abc'), {
      query: 'insert …',
      params: ['whsec_abc'],
      cause: connection,
    });
    const logged = errorForLog(failed);
    expect(logged).toMatchObject({ type: 'Error', causes: [{ type: 'Error', code: 'ECONNREFUSED' }] });
    expect(JSON.stringify(logged)).not.toContain('whsec_abc');
  });
});
