import { TRPC_MAX_BATCH_ITEMS } from '@touch-crm/contract';
import { adminUser, startTestApi, type TestApi } from '@touch-crm/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let api: TestApi;
let token: string;
beforeAll(async () => {
  api = await startTestApi();
  token = (await adminUser(api.deps)).token;
});
afterAll(() => api?.close());

/** One GET carrying `count` calls of `auth.me`, as tRPC's batch link sends them. */
const batchOf = (count: number) =>
  api.rest('GET', `//trpc/${Array.from({ length: count }, () => 'auth.me').join(',')}?batch=1&input={}`, { token });

describe('tRPC batch size', () => {
  it('the server default is the limit the published client keeps to', () => {
    expect(TRPC_MAX_BATCH_ITEMS).toBe(20);
    expect(api.config.TRPC_MAX_BATCH_SIZE).toBe(TRPC_MAX_BATCH_ITEMS);
  });

  it('answers a batch of 20 calls', async () => {
    const res = await batchOf(20);
    expect(res.status).toBe(200);
    expect(res.body).toHaveLength(20);
  });

  it('refuses a batch of 21 calls with 400 BAD_REQUEST before running any of them', async () => {
    const res = await batchOf(21);
    expect(res.status).toBe(400);
    const error = [res.body].flat()[0].error;
    expect(error.data).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400 });
    expect(error.message).toMatch(/batch/i);
    expect(res.text).not.toContain('"username"');
  });
});
