import { createLogger } from '@touch-crm/logger';
import { startTestApi, type TestApi, uniquePhone, waitFor } from '@touch-crm/test-utils';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningWorker } from '../src/worker.ts';
import { queueTestMessage, startTestWorker } from './support.ts';

const lines: string[] = [];
let api: TestApi;
let worker: RunningWorker;

beforeAll(async () => {
  api = await startTestApi();
  // The worker logs through the same logger its process builds (createLogger), into this buffer.
  worker = await startTestWorker(
    api,
    {},
    { log: createLogger('info', 'worker', { write: (line: string) => void lines.push(line) }) },
  );
});
afterAll(async () => {
  await worker?.stop();
  await api?.close();
});

describe('a job failing on a database error', () => {
  it('logs SQLSTATE, constraint and table, not the row or the statement', async () => {
    // A real failure: claiming a message for sending is refused, with the row in the server's detail.
    await api.deps.db.execute(
      sql`alter table message_queue add constraint log_test_refuses_sending check (status <> 'SENDING') not valid`,
    );
    const phone = uniquePhone();
    const body = 'Private note for Ada: account 4711-0815';
    await queueTestMessage(api.deps, { phone, body });
    const failed = await waitFor(
      () => lines.map((line) => JSON.parse(line)).find((line) => line.msg === 'job failed' && line.job === 'sms.send'),
      { what: 'the failed sms.send job in the log' },
    );
    expect(failed.err).toMatchObject({
      type: 'DatabaseError',
      sqlstate: '23514',
      constraint: 'log_test_refuses_sending',
      table: 'message_queue',
    });
    const log = lines.join('\n');
    for (const value of [phone, body, 'Failing row', 'params:']) expect(log).not.toContain(value);
  });
});
