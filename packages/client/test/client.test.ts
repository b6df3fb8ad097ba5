import type { ErrorReason, Problem, TrpcErrorData } from '@touch-crm/contract';
import { adminUser, createUser, insertCustomer, startTestApi, type TestApi } from '@touch-crm/test-utils';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTouchClient,
  isTouchError,
  isTouchProblem,
  type RouterInputs,
  type TouchErrorData,
  type TouchErrorReason,
  type TouchProblem,
  TRPC_MAX_BATCH_ITEMS,
} from '../src/index.ts';

/** Type-level equality: the client's written-out error types are the contract's, field for field. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
export const sameProblem: Equal<TouchProblem, Problem> = true;
export const sameErrorData: Equal<TouchErrorData, TrpcErrorData> = true;
export const sameReasons: Equal<TouchErrorReason, ErrorReason> = true;

/** Named keys only: a free-form map (`Record<string, unknown>`, a job's payload) is typed as one. */
type NamedKeys<T> = keyof { [K in keyof T as string extends K ? never : number extends K ? never : K]: 0 } & string;
/** Paths of the input fields typed `unknown`, as a coercing schema without an input type makes them. */
type UnknownFields<T, Path extends string = ''> = unknown extends T
  ? Path
  : T extends readonly (infer Item)[]
    ? UnknownFields<Item, `${Path}[]`>
    : T extends object
      ? { [K in NamedKeys<T>]-?: UnknownFields<T[K], `${Path}.${K}`> }[NamedKeys<T>]
      : never;
/** `pnpm typecheck` names every such field here: none may be `unknown`. */
export const noUnknownInputs: Equal<UnknownFields<RouterInputs>, never> = true;

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api?.close());

/** The rejection of `promise`, which must reject. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('the call succeeded'),
    (error: unknown) => error,
  );
}

describe('createTouchClient', () => {
  it('logs in, then calls with the token; outputs are the JSON the server sends', async () => {
    const session = await createTouchClient({ url: api.url }).auth.login.mutate({
      username: 'admin',
      password: 'Admin123!',
    });
    expect(new Date(session.expiresAt).toISOString()).toBe(session.expiresAt);

    const client = createTouchClient({ url: `${api.url}/`, token: session.token });
    const me = await client.auth.me.query();
    expect(me).toMatchObject({ username: 'admin', role: { name: 'Administrator' } });
    const page = await client.users.list.query({ pageSize: 5 });
    expect(page.items.map((user) => user.username)).toContain('admin');
    expect(typeof page.items[0]?.createdAt).toBe('string');
  });

  it('asks getToken before every request, so a token can change under a live client', async () => {
    const [rep, admin] = await Promise.all([createUser(api.deps), adminUser(api.deps)]);
    let token = rep.token;
    const client = createTouchClient({ url: api.url, getToken: async () => token });

    const forbidden = await failure(client.users.list.query({}));
    expect(isTouchError(forbidden, 'FORBIDDEN')).toBe(true);

    token = admin.token;
    await expect(client.users.list.query({})).resolves.toMatchObject({ page: 1 });
  });

  it('batches calls of one tick into one request through the given fetch, with extra headers', async () => {
    const { token } = await adminUser(api.deps);
    const requests: string[] = [];
    const client = createTouchClient({
      url: api.url,
      token,
      headers: () => ({ 'x-request-id': 'client-test-1' }),
      fetch: (input, init) => {
        requests.push(String(input));
        return fetch(input, init);
      },
    });
    const [me, roles] = await Promise.all([client.auth.me.query(), client.roles.list.query()]);
    expect(me.username).toBe('admin');
    expect(roles.length).toBeGreaterThan(0);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toContain('/trpc/auth.me,roles.list?batch=1');

    const unauthorized = await failure(
      createTouchClient({ url: api.url, headers: () => ({ 'x-request-id': 'client-test-2' }) }).auth.me.query(),
    );
    expect(isTouchError(unauthorized, 'UNAUTHORIZED') && unauthorized.data.requestId).toBe('client-test-2');
  });
});

describe('input types', () => {
  it('are the real types, so a page size in words does not compile, and the server names the field', async () => {
    const { token } = await adminUser(api.deps);
    const client = createTouchClient({ url: api.url, token });
    const filters: RouterInputs['customers']['list'] = { pageSize: 10, smsOptIn: false, minTotalSpent: 0 };
    await expect(client.customers.list.query(filters)).resolves.toMatchObject({ page: 1, pageSize: 10 });

    // @ts-expect-error pageSize is a number
    const error = await failure(client.customers.list.query({ pageSize: 'ten' }));
    if (!isTouchError(error, 'BAD_REQUEST')) throw error;
    expect(error.data.errors?.map((issue) => issue.path)).toEqual([['pageSize']]);
  });
});

describe('isTouchError', () => {
  it('reads the code, reason and status of a CONFLICT', async () => {
    const { token, roleId } = await adminUser(api.deps);
    const client = createTouchClient({ url: api.url, token });
    const error = await failure(
      client.auth.register.mutate({ username: 'admin', password: 'Password123!', fullName: 'Twin', roleId }),
    );
    expect(isTouchError(error)).toBe(true);
    expect(isTouchError(error, 'NOT_FOUND')).toBe(false);
    if (!isTouchError(error, 'CONFLICT')) throw error;
    expect(error.data).toMatchObject({
      code: 'CONFLICT',
      reason: 'USERNAME_TAKEN',
      httpStatus: 409,
      requestId: expect.any(String),
    });
    const reason: TouchErrorReason | undefined = error.data.reason;
    expect(reason).toBe('USERNAME_TAKEN');
    expect(error.message).toBe('Username is already taken');
  });

  it('reads the failing fields of a BAD_REQUEST', async () => {
    const error = await failure(createTouchClient({ url: api.url }).auth.login.mutate({ username: '', password: 'x' }));
    if (!isTouchError(error, 'BAD_REQUEST')) throw error;
    expect(error.data.errors?.map((issue) => issue.path)).toEqual([['username']]);
  });

  it('is the REST problem body with the same code and failing fields (isTouchProblem)', async () => {
    const res = await api.rest('POST', '/auth/login', { body: { username: '', password: 'x' } });
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(isTouchProblem(res.body, 'BAD_REQUEST')).toBe(true);
    expect(isTouchProblem(res.body, 'CONFLICT')).toBe(false);
    expect(isTouchProblem({ message: 'x' })).toBe(false);
    if (!isTouchProblem(res.body)) throw new Error('not a problem');
    expect(res.body.errors?.map((issue) => issue.path)).toEqual([['username']]);
  });

  it('is false for a network failure and for other errors', async () => {
    const error = await failure(createTouchClient({ url: 'http://127.0.0.1:1' }).auth.me.query());
    expect(error).toBeInstanceOf(TRPCClientError);
    expect(isTouchError(error)).toBe(false);
    expect(isTouchError(new Error('CONFLICT'), 'CONFLICT')).toBe(false);
  });
});

describe('batch size', () => {
  it('splits 50 calls of one tick into batches the server accepts', async () => {
    const { token } = await adminUser(api.deps);
    const sizes: number[] = [];
    const client = createTouchClient({
      url: api.url,
      token,
      fetch: (input, init) => {
        const procedures = new URL(String(input)).pathname.split('/').pop() ?? '';
        sizes.push(procedures.split(',').length);
        return fetch(input, init);
      },
    });
    const results = await Promise.all(Array.from({ length: 50 }, () => client.auth.me.query()));
    expect(results.every((me) => me.username === 'admin')).toBe(true);
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(50);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(TRPC_MAX_BATCH_ITEMS);
    expect(sizes.length).toBe(Math.ceil(50 / TRPC_MAX_BATCH_ITEMS));
  });
});

describe('incremental sync, as the README loops', () => {
  /** The README's loop: stops once an answer has fewer items than the limit, and keeps the cursor. */
  async function sync(client: ReturnType<typeof createTouchClient>, from: string | undefined) {
    const seen: string[] = [];
    let cursor = from;
    for (let rounds = 1; ; rounds++) {
      expect(rounds, 'the loop never caught up').toBeLessThan(20);
      const batch = await client.customers.list.query({ limit: 2, cursor });
      seen.push(...batch.items.map((customer) => customer.id));
      cursor = batch.nextCursor ?? cursor;
      if (batch.items.length < 2) break;
    }
    return { seen, cursor };
  }

  it('ends once caught up, and the kept cursor brings only what changed since', async () => {
    const admin = await adminUser(api.deps);
    const client = createTouchClient({ url: api.url, token: admin.token });
    const created: string[] = [];
    for (let i = 0; i < 5; i++) created.push((await insertCustomer(api.deps, admin.id)).id);
    // Another file's open transaction may hold the newest changes back a moment: wait for them.
    let first: Awaited<ReturnType<typeof sync>> = { seen: [], cursor: undefined };
    await expect
      .poll(async () => {
        first = await sync(client, undefined);
        return created.every((id) => first.seen.includes(id));
      })
      .toBe(true);
    expect((await sync(client, first.cursor)).seen).toEqual([]);
    const changed = await insertCustomer(api.deps, admin.id);
    await expect.poll(async () => (await sync(client, first.cursor)).seen).toEqual([changed.id]);
  });
});
