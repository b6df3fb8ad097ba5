import { freePort, startTestApi, type TestApi } from '@touch-crm/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api?.close());

describe('probes', () => {
  it('/healthz answers while the process is up', async () => {
    expect((await api.rest('GET', '//healthz')).status).toBe(200);
  });

  it('/readyz is ready once the database is reachable and migrated', async () => {
    const res = await api.rest('GET', '//readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready' });
  });
});

describe('/openapi.json', () => {
  it('is an OpenAPI 3 document with bearer security, tags and the auth, users and roles paths', async () => {
    const res = await api.rest('GET', '//openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const path of ['/auth/login', '/auth/register', '/auth/me', '/users', '/users/{id}', '/roles', '/permissions'])
      expect(doc.paths).toHaveProperty([path]);
    expect(doc.paths['/auth/login'].post.security ?? []).toEqual([]);
    expect(doc.paths['/auth/me'].get.security).toEqual([{ bearerAuth: [] }, { apiKeyAuth: [] }]);
    expect(doc.paths['/users'].get.tags).toEqual(['users']);
  });
});

describe('/openapi.json servers', () => {
  it('is relative without PUBLIC_URL, absolute under PUBLIC_URL with it', async () => {
    expect((await api.rest('GET', '//openapi.json')).body.servers).toEqual([{ url: '/api/v1' }]);
    // A name for this machine: the harness calls the server at PUBLIC_URL.
    const port = await freePort();
    const behindProxy = await startTestApi({ env: { PORT: String(port), PUBLIC_URL: `http://localhost:${port}` } });
    try {
      const doc = (await behindProxy.rest('GET', '//openapi.json')).body;
      expect(doc.servers).toEqual([{ url: `http://localhost:${port}/api/v1` }]);
    } finally {
      await behindProxy.close();
    }
  });
});

describe('/api-docs', () => {
  it('never calls validator.swagger.io, and starts "Try it out" with empty filters', async () => {
    const init = await api.rest('GET', '//api-docs/init.js');
    expect(init.status).toBe(200);
    expect(init.text).toContain('"validatorUrl":null');
    // Swagger UI fills a query parameter with its (or its schema's) example: the document gives none.
    const doc = (await api.rest('GET', '//openapi.json')).body;
    const filters = doc.paths['/customers'].get.parameters.filter(
      (parameter: { in: string }) => parameter.in === 'query',
    );
    expect(filters.map((parameter: { name: string }) => parameter.name)).toEqual(
      expect.arrayContaining(['levelId', 'ownerId', 'search']),
    );
    expect(JSON.stringify(filters)).not.toMatch(/"examples?":/);
  });

  it('serves Swagger UI from the package, not a CDN', async () => {
    const page = await api.rest('GET', '//api-docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.text).toContain('/api-docs/swagger-ui-bundle.js');
    expect(page.text).not.toMatch(/https?:\/\/(?!localhost)/);
    const bundle = await api.rest('GET', '//api-docs/swagger-ui-bundle.js');
    expect(bundle.status).toBe(200);
    expect(bundle.text.length).toBeGreaterThan(100_000);
  });
});

describe('errors and request ids', () => {
  it('echoes a valid X-Request-Id and generates one otherwise', async () => {
    const echoed = await api.rest('GET', '//healthz', { headers: { 'x-request-id': 'abc-123' } });
    expect(echoed.headers.get('x-request-id')).toBe('abc-123');
    const generated = await api.rest('GET', '//healthz');
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers unknown REST paths with a JSON 404', async () => {
    const res = await api.rest('GET', '/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('NOT_FOUND');
  });
});

describe('/openapi.json success statuses', () => {
  it('documents creates as 201', async () => {
    const doc = (await api.rest('GET', '//openapi.json')).body;
    expect(Object.keys(doc.paths['/auth/register'].post.responses)).toContain('201');
    expect(Object.keys(doc.paths['/auth/register'].post.responses)).not.toContain('200');
    expect(Object.keys(doc.paths['/auth/me'].get.responses)).toContain('200');
  });
});

describe('production behaviour', () => {
  it('sends secure headers', async () => {
    const res = await api.rest('GET', '//healthz');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBeTruthy();
  });

  it('answers CORS only for the configured origins', async () => {
    const cors = await startTestApi({ env: { CORS_ORIGINS: 'https://app.example.com' } });
    try {
      const allowed = await cors.rest('OPTIONS', '/auth/me', {
        headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' },
      });
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      const refused = await cors.rest('GET', '//healthz', { headers: { origin: 'https://evil.example.com' } });
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await cors.close();
    }
    const none = await api.rest('GET', '//healthz', { headers: { origin: 'https://app.example.com' } });
    expect(none.headers.get('access-control-allow-origin')).toBeNull();
  });
});
