import { createTeam, insertCustomer, startTestApi, type TestApi, uniquePhone } from '@touch-crm/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let api: TestApi;
let team: Awaited<ReturnType<typeof createTeam>>;
beforeAll(async () => {
  api = await startTestApi({ env: { REQUEST_TIMEOUT_MS: '1000', METRICS_TOKEN: 'edge-metrics-token-0123456789' } });
  team = await createTeam(api.deps);
});
afterAll(() => api?.close());

/** A request under a request id of our choosing, so two answers can be compared whole. */
const withId = (requestId: string, token?: string) => ({
  headers: { 'x-request-id': requestId },
  ...(token ? { token } : {}),
});

describe('every error body carries the request id', () => {
  it('an unknown path, inside and outside the REST prefix (404)', async () => {
    for (const path of ['//nothing-here', '/nothing-here']) {
      const res = await api.rest('GET', path, withId('edge-404'));
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toBe('application/problem+json');
      expect(res.body, path).toEqual({
        type: 'about:blank',
        title: 'Not Found',
        status: 404,
        detail: 'Not found',
        instance: path.startsWith('//') ? path.slice(1) : `/api/v1${path}`,
        code: 'NOT_FOUND',
        requestId: 'edge-404',
      });
    }
  });

  it('a body over BODY_LIMIT_BYTES (413), with the connection closed', async () => {
    const res = await api.rest('POST', '/auth/login', {
      ...withId('edge-413'),
      body: { username: 'admin', password: 'x'.repeat(api.config.BODY_LIMIT_BYTES) },
    });
    expect(res.status).toBe(413);
    expect(res.headers.get('connection')).toBe('close');
    expect(res.body).toEqual({
      type: 'about:blank',
      title: 'Payload Too Large',
      status: 413,
      detail: `Request body exceeds ${api.config.BODY_LIMIT_BYTES} bytes`,
      instance: '/api/v1/auth/login',
      code: 'PAYLOAD_TOO_LARGE',
      requestId: 'edge-413',
    });
  });

  it('a request that outlasts REQUEST_TIMEOUT_MS (503)', async () => {
    // A body that never ends keeps the request running until the server gives up on it.
    let stall: ReadableStreamDefaultController<Uint8Array> | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        stall = controller;
        controller.enqueue(new TextEncoder().encode('{"username":'));
      },
    });
    const res = await fetch(`${api.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'edge-503' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toEqual({
      type: 'about:blank',
      title: 'Service Unavailable',
      status: 503,
      detail: 'The request took too long',
      instance: '/api/v1/auth/login',
      code: 'TIMEOUT',
      requestId: 'edge-503',
    });
    stall?.close();
  });

  it('malformed JSON (400), a refused upload type (415) and a refused metrics scrape', async () => {
    const malformed = await api.rest('POST', '/auth/login', { ...withId('edge-400'), rawBody: '{"username":' });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ code: 'PARSE_ERROR', requestId: 'edge-400' });
    const unsupported = await api.rest('POST', '/customers/import', {
      ...withId('edge-415', team.manager.token),
      rawBody: '{}',
    });
    expect(unsupported.status).toBe(415);
    expect(unsupported.body).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', requestId: 'edge-415' });
    const scrape = await api.rest('GET', '//metrics', withId('edge-401', 'not-the-metrics-token'));
    expect(scrape.status).toBe(401);
    expect(scrape.body).toMatchObject({ code: 'UNAUTHORIZED', requestId: 'edge-401' });
  });
});

describe('plain routes and procedures answer the same failure with the same body', () => {
  /** The export (a plain route) and the list (a procedure) of customers, under one request id. */
  const both = async (requestId: string, options: { token?: string; headers?: Record<string, string> }, query = '') => {
    const headers = { 'x-request-id': requestId, ...options.headers };
    const plain = await api.rest('GET', `/customers/export${query}`, { ...options, headers });
    const procedure = await api.rest('GET', `/customers${query}`, { ...options, headers });
    expect(plain.status).toBe(procedure.status);
    // The same problem but for `instance`, each request's own path.
    expect({ ...plain.body, instance: undefined }).toEqual({ ...procedure.body, instance: undefined });
    expect(plain.body.instance).toBe('/api/v1/customers/export');
    expect(plain.body.requestId).toBe(requestId);
    return procedure;
  };

  it('no token, a token of another scheme and a forged token: 401', async () => {
    expect((await both('parity-none', {})).status).toBe(401);
    expect((await both('parity-basic', { headers: { authorization: 'Basic YTpi' } })).status).toBe(401);
    expect((await both('parity-forged', { token: 'not.a.token' })).status).toBe(401);
  });

  it('a filter that fails the contract: 400 naming the field', async () => {
    const res = await both('parity-400', { token: team.manager.token }, '?status=NOT_A_STATUS');
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ path: ['status'], message: expect.any(String), code: expect.any(String) }]);
    // Only our fields: no raw zod issue fields (`origin`, `pattern` …) at the top level or in `errors`.
    expect(Object.keys(res.body).sort()).toEqual(
      ['code', 'detail', 'errors', 'instance', 'requestId', 'status', 'title', 'type'].sort(),
    );
  });

  it('a caller without the permission: 403, and tRPC carries the same data', async () => {
    const plain = await api.rest('GET', '/customers/export', withId('parity-403', team.rep.token));
    const procedure = await api.rest('GET', '/users', withId('parity-403', team.rep.token));
    expect([plain.status, procedure.status]).toEqual([403, 403]);
    expect({ ...plain.body, instance: undefined }).toEqual({ ...procedure.body, instance: undefined });
    const trpc = await fetch(`${api.url}/trpc/users.list?input=${encodeURIComponent('{}')}`, {
      headers: { authorization: `Bearer ${team.rep.token}`, 'x-request-id': 'parity-403' },
    });
    expect(trpc.status).toBe(403);
    const { error } = (await trpc.json()) as { error: { message: string; data: unknown } };
    expect({ message: error.message, data: error.data }).toEqual({
      message: plain.body.detail,
      data: {
        code: plain.body.code,
        reason: plain.body.reason,
        httpStatus: plain.body.status,
        requestId: plain.body.requestId,
      },
    });
  });
});

describe('tRPC answers every failure of the edge in its envelope, with the request id', () => {
  /** A tRPC request under a request id of our choosing; its answer must be one error in tRPC's envelope. */
  const trpcError = async (path: string, init: RequestInit & { headers?: Record<string, string> }) => {
    const res = await fetch(`${api.url}/trpc/${path}`, {
      ...init,
      headers: { authorization: `Bearer ${team.manager.token}`, 'x-request-id': 'trpc-edge', ...init.headers },
    });
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = (await res.json()) as { error: { message: string; code: number; data: Record<string, unknown> } };
    expect(body.error.data.requestId).toBe('trpc-edge');
    return { status: res.status, ...body.error };
  };

  it('a batch over TRPC_MAX_BATCH_SIZE and a batch mixing queries and mutations: 400', async () => {
    const calls = Array.from({ length: api.config.TRPC_MAX_BATCH_SIZE + 1 }, () => 'auth.me').join(',');
    const large = await trpcError(`${calls}?batch=1&input={}`, {});
    expect(large).toMatchObject({ status: 400, code: -32600, message: 'Batch call exceeds maximum size' });
    expect(large.data).toEqual({ code: 'BAD_REQUEST', httpStatus: 400, requestId: 'trpc-edge' });
    const mixed = await trpcError('auth.me,apiKeys.create?batch=1', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(mixed).toMatchObject({ status: 400, data: { code: 'BAD_REQUEST' } });
    expect(mixed.message).toMatch(/Cannot mix procedure types/);
  });

  it('a body that is not JSON: 415, its media type quoted whole', async () => {
    for (const type of ['text/plain', 'multipart/form-data; boundary=x', 'application/octet-stream']) {
      const refused = await trpcError('customers.create', {
        method: 'POST',
        headers: { 'content-type': type },
        body: '{}',
      });
      expect(refused, type).toMatchObject({ status: 415, code: -32015, data: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
      expect(refused.message).toBe(`The body must be application/json, not "${type}"`);
    }
  });

  it('a body over BODY_LIMIT_BYTES: 413, with the connection closed', async () => {
    const res = await fetch(`${api.url}/trpc/auth.login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'trpc-edge' },
      body: JSON.stringify({ username: 'admin', password: 'x'.repeat(api.config.BODY_LIMIT_BYTES) }),
    });
    expect(res.status).toBe(413);
    expect(res.headers.get('connection')).toBe('close');
    expect(await res.json()).toEqual({
      error: {
        message: `Request body exceeds ${api.config.BODY_LIMIT_BYTES} bytes`,
        code: -32013,
        data: { code: 'PAYLOAD_TOO_LARGE', httpStatus: 413, requestId: 'trpc-edge' },
      },
    });
  });

  it('a request that outlasts REQUEST_TIMEOUT_MS: 503 TIMEOUT', async () => {
    let stall: ReadableStreamDefaultController<Uint8Array> | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        stall = controller;
        controller.enqueue(new TextEncoder().encode('{"username":'));
      },
    });
    const refused = await trpcError('auth.login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      // Node's fetch needs it to stream a request body; RequestInit does not know it.
      duplex: 'half',
    } as RequestInit & { headers: Record<string, string> });
    stall?.close();
    expect(refused).toMatchObject({ status: 503, message: 'The request took too long', data: { code: 'TIMEOUT' } });
  });
});

describe('REST bodies are JSON', () => {
  const post = (contentType: string | string[], body: string) => {
    const headers = new Headers({ authorization: `Bearer ${team.manager.token}` });
    for (const type of [contentType].flat()) headers.append('content-type', type);
    return fetch(`${api.url}/api/v1/customers`, { method: 'POST', headers, body });
  };
  const customer = () => JSON.stringify({ firstName: 'Media', lastName: 'Type', phone: uniquePhone() });

  it('any other media type, or a header naming several, is 415 before the body is read', async () => {
    const types: (string | string[])[] = [
      'multipart/form-data; boundary=x',
      'application/x-www-form-urlencoded',
      'application/xml',
      'application/jsonx',
      ['application/json', 'multipart/form-data; boundary=x'],
      ['application/x-www-form-urlencoded', 'application/json'],
    ];
    for (const type of types) {
      const res = await post(type, customer());
      expect(res.status, String(type)).toBe(415);
      const body = (await res.json()) as { code: string; detail: string };
      expect(body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(body.detail).toBe(`The body must be application/json, not "${[type].flat().join(', ')}"`);
    }
  });

  it('application/json takes parameters and any case', async () => {
    for (const type of ['application/json; charset=utf-8', 'Application/JSON'])
      expect((await post(type, customer())).status, type).toBe(201);
  });

  it('a request with no body and no Content-Type is no input, as a generated client sends a bodyless POST', async () => {
    const bare = (path: string) =>
      fetch(`${api.url}/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${team.manager.token}` } });
    // An operation without a request body runs (here: an unknown campaign, 404, not 415).
    const cancel = await bare('/campaigns/0195d2a0-1c3e-7a41-8d2b-5e6f7a8b9c0d/cancel');
    expect(cancel.status).toBe(404);
    // One that needs a body names the missing fields.
    const create = await bare('/customers');
    expect(create.status).toBe(400);
    const body = (await create.json()) as { errors: { path: string[] }[] };
    expect(body.errors.map((error) => error.path[0])).toEqual(expect.arrayContaining(['firstName', 'phone']));
  });
});

describe('HEAD is GET without the body', () => {
  it('answers the status and headers GET answers: unauthenticated, out of scope, unknown, found; REST and tRPC', async () => {
    const theirs = await insertCustomer(api.deps, team.otherRep.id);
    const mine = await insertCustomer(api.deps, team.rep.id);
    const cases: [string, string | undefined][] = [
      ['/api/v1/customers', undefined],
      [`/api/v1/customers/${theirs.id}`, team.rep.token],
      [`/api/v1/customers/${mine.id}`, team.rep.token],
      ['/api/v1/nothing-here', team.rep.token],
      ['/nothing-here', undefined],
      ['/trpc/auth.me', undefined],
      ['/trpc/auth.me', team.rep.token],
      ['/trpc/customers.create', team.rep.token],
      ['/healthz', undefined],
      // More than EXPORT_MAX_PER_USER (2): a HEAD's export frees its slot.
      ...Array.from({ length: 3 }, (): [string, string] => ['/api/v1/customers/export', team.manager.token]),
    ];
    for (const [path, token] of cases) {
      const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
      const get = await fetch(`${api.url}${path}`, { headers });
      await get.arrayBuffer();
      const head = await fetch(`${api.url}${path}`, { method: 'HEAD', headers });
      expect(await head.text(), path).toBe('');
      expect([head.status, head.headers.get('content-type')], path).toEqual([
        get.status,
        get.headers.get('content-type'),
      ]);
    }
  });
});
