import { createTeam, startTestApi, type TestApi } from '@touch-crm/test-utils';
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
