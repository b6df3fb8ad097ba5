import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { ERROR_REASONS } from '@touch-crm/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApiDocument, openApiFileContent, restOperations } from '../src/index.ts';
import { IMPORT_PLAIN_ROUTES } from '../src/openapi-imports.ts';

/** The committed copy that packages/client ships (written by `pnpm openapi`). */
const OPENAPI_FILE = new URL('../../client/openapi.json', import.meta.url);

type Response = { $ref?: string; description?: string; headers?: Record<string, unknown> };
type Operation = {
  summary?: string;
  description?: string;
  security?: unknown[];
  tags?: string[];
  parameters?: { name: string; in: string }[];
  responses: Record<string, Response>;
  'x-error-reasons'?: Record<string, string[]>;
};
const document = buildOpenApiDocument({ version: 'stable' }) as unknown as {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  servers: { url: string }[];
  components: {
    securitySchemes: Record<string, unknown>;
    schemas: Record<string, { enum?: string[] }>;
    responses: Record<string, Response>;
  };
};
const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, operation]) => ({ path, method: method.toUpperCase(), operation })),
);
const bin = (name: string) => new URL(`../../../node_modules/.bin/${name}`, import.meta.url).pathname;
/** packages/api pins TypeScript 5.9 for openapi-typescript, which needs the TypeScript 5 compiler API. */
const apiBin = (name: string) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;

/** Every endpoint the product seed lists, with its method. */
const SEED_OPERATIONS = [
  'POST /auth/login',
  'POST /auth/register',
  'GET /auth/me',
  'POST /customers',
  'GET /customers',
  'GET /customers/{id}',
  'PUT /customers/{id}',
  'DELETE /customers/{id}',
  'GET /customers/{id}/worklogs',
  'POST /orders',
  'GET /orders',
  'GET /orders/{id}',
  'POST /promotions',
  'GET /promotions',
  'GET /promotions/{id}',
  'PUT /promotions/{id}',
  'DELETE /promotions/{id}',
  'POST /promotions/{id}/assign',
  'POST /projects',
  'GET /projects',
  'POST /tasks',
  'GET /tasks/my-tasks',
  'PUT /tasks/{id}/status',
  'POST /worklogs',
  'GET /worklogs',
];

describe('/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document by a third-party validator', async () => {
    const result = await new Validator().validate(structuredClone(document) as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(document.openapi).toMatch(/^3\.1\./);
  });

  it('lists every path of the seed with its method', () => {
    const listed = new Set(operations.map(({ method, path }) => `${method} ${path}`));
    for (const operation of SEED_OPERATIONS) expect(listed, operation).toContain(operation);
  });

  it('puts bearer security and a domain tag on every protected operation, and a description on every one', () => {
    for (const { path, method, operation } of operations) {
      const name = `${method} ${path}`;
      expect(operation.tags?.length, name).toBe(1);
      expect(operation.description?.trim().length, name).toBeGreaterThan(40);
      expect(operation.description, name).not.toBe(operation.summary);
      if (name === 'POST /auth/login') {
        expect(operation.security ?? [], name).toEqual([]);
        continue;
      }
      expect(operation.security, name).toEqual([{ bearerAuth: [] }, { apiKeyAuth: [] }]);
    }
  });

  it('passes `redocly lint` (its recommended rules) with no error and no warning', () => {
    // Offline: telemetry and the update check off; the rules ship in the installed package.
    const lint = spawnSync(bin('redocly'), ['lint', OPENAPI_FILE.pathname, '--format=json'], {
      encoding: 'utf8',
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    });
    const report = JSON.parse(lint.stdout) as { totals: Record<string, number>; problems: unknown[] };
    expect(report.problems).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it('answers every error with the problem details schema, by status; no trpc-to-openapi error schema is left', () => {
    const components = document.components as unknown as {
      schemas: Record<string, unknown>;
      responses: Record<string, { content: Record<string, { schema: unknown }> }>;
    };
    expect(Object.keys(components.schemas).filter((name) => name.startsWith('error.'))).toEqual([]);
    for (const response of Object.values(components.responses))
      expect(response.content).toEqual({
        'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
      });
    for (const { path, method, operation } of operations)
      for (const [status, response] of Object.entries(operation.responses))
        if (Number(status) >= 400)
          expect((response as { $ref?: string }).$ref, `${method} ${path} ${status}`).toMatch(
            /^#\/components\/responses\//,
          );
  });

  it('is committed up to date in packages/client/openapi.json (run `pnpm openapi`)', async () => {
    expect(await readFile(OPENAPI_FILE, 'utf8')).toBe(openApiFileContent(document));
  });
});

const statusesOf = (operation: Operation) =>
  Object.keys(operation.responses)
    .map(Number)
    .filter((status) => status >= 400);
const operation = (key: string) => {
  const found = operations.find(({ method, path }) => `${method} ${path}` === key);
  if (!found) throw new Error(`no operation ${key}`);
  return found.operation;
};

describe('the error statuses each operation documents', () => {
  it('are the ones it can answer: 404 only on one record, 409 only where something can conflict', () => {
    expect(statusesOf(operation('GET /customers'))).toEqual([400, 401, 403, 429, 500, 503]);
    expect(statusesOf(operation('GET /customers/{id}'))).toEqual([400, 401, 403, 404, 429, 500, 503]);
    expect(statusesOf(operation('DELETE /customers/{id}'))).toEqual([400, 401, 403, 404, 429, 500, 503]);
    expect(statusesOf(operation('PUT /customers/{id}'))).toEqual([400, 401, 403, 404, 409, 413, 415, 429, 500, 503]);
    // A protected POST: 409 and 422 for Idempotency-Key besides its own conflicts.
    expect(statusesOf(operation('POST /customers'))).toEqual([400, 401, 403, 409, 413, 415, 422, 429, 500, 503]);
    // Login: no token to refuse, no permission, no Idempotency-Key (nobody to key it to).
    expect(statusesOf(operation('POST /auth/login'))).toEqual([400, 401, 413, 415, 429, 500, 503]);
    // Any signed-in user, even before the password change: never 403.
    expect(statusesOf(operation('GET /auth/me'))).toEqual([400, 401, 429, 500, 503]);
    for (const { path, method, operation } of operations) {
      const statuses = statusesOf(operation);
      for (const status of [400, 429, 500, 503]) expect(statuses, `${method} ${path}`).toContain(status);
      if (!path.includes('{') && !['POST /orders', 'POST /messages'].includes(`${method} ${path}`))
        expect(statuses, `${method} ${path}`).not.toContain(404);
      if (method !== 'POST' && !operation['x-error-reasons']?.['409'])
        expect(statuses, `${method} ${path}`).not.toContain(409);
    }
  });

  it('list the `reason`s each status may carry there, from the ErrorReason enum of the Problem schema', () => {
    const enumeration = document.components.schemas.ErrorReason?.enum ?? [];
    expect(enumeration).toEqual([...ERROR_REASONS]);
    expect(document.components.schemas.Problem).toMatchObject({
      properties: { reason: { $ref: '#/components/schemas/ErrorReason' } },
    });
    for (const { path, method, operation } of operations)
      for (const [status, reasons] of Object.entries(operation['x-error-reasons'] ?? {})) {
        expect(Object.keys(operation.responses), `${method} ${path}`).toContain(status);
        for (const reason of reasons) expect(enumeration, `${method} ${path} ${status}`).toContain(reason);
      }
    expect(operation('POST /customers')['x-error-reasons']?.['409']).toEqual(['PHONE_TAKEN']);
    expect(operation('POST /orders')['x-error-reasons']?.['409']).toEqual([
      'PROMOTION_NOT_ASSIGNED',
      'PROMOTION_ALREADY_REDEEMED',
      'PROMOTION_UNAVAILABLE',
    ]);
    expect(operation('POST /auth/login')['x-error-reasons']?.['429']).toEqual(['RATE_LIMITED', 'LOGIN_THROTTLED']);
    expect(operation('GET /customers')['x-error-reasons']?.['403']).toEqual([
      'PERMISSION_DENIED',
      'PASSWORD_CHANGE_REQUIRED',
    ]);
    expect(operation('POST /customers').responses['409']?.description).toContain('PHONE_TAKEN');
  });
});

describe('the headers the document promises', () => {
  const resolve = (response: Response) =>
    response.$ref ? document.components.responses[response.$ref.split('/').pop() ?? ''] : response;

  it('RateLimit-Policy and RateLimit on every answer of every operation, Retry-After on 429 and 503', () => {
    for (const { path, method, operation } of operations)
      for (const [status, response] of Object.entries(operation.responses)) {
        const headers = Object.keys(resolve(response)?.headers ?? {});
        expect(headers, `${method} ${path} ${status}`).toEqual(
          expect.arrayContaining(['RateLimit-Policy', 'RateLimit']),
        );
        if (status === '429' || status === '503')
          expect(headers, `${method} ${path} ${status}`).toContain('Retry-After');
      }
  });

  it('Idempotency-Key (and its 422) on every protected POST but those answering a secret, Idempotent-Replayed on its success', () => {
    // The server ignores the key where the answer carries a secret or a credential: it is never stored.
    const secret = ['/auth/login', '/api-keys', '/webhooks', '/webhooks/{id}/rotate-secret'];
    for (const { path, method, operation } of operations) {
      const takesKey = operation.parameters?.some((parameter) => parameter.name === 'Idempotency-Key') ?? false;
      expect(takesKey, `${method} ${path}`).toBe(method === 'POST' && !secret.includes(path));
      expect('422' in operation.responses, `${method} ${path}`).toBe(takesKey);
      if (!takesKey) continue;
      const success = Object.entries(operation.responses).filter(([status]) => Number(status) < 400);
      for (const [status, response] of success)
        expect(Object.keys(response.headers ?? {}), `${method} ${path} ${status}`).toContain('Idempotent-Replayed');
    }
  });
});

describe('the servers and parameters a browser uses', () => {
  it('is relative (/api/v1) without PUBLIC_URL and absolute with it', () => {
    expect(document.servers).toEqual([{ url: '/api/v1' }]);
    for (const serverUrl of ['https://crm.example.com', 'https://crm.example.com/'])
      expect(buildOpenApiDocument({ version: 'stable', serverUrl }).servers).toEqual([
        { url: 'https://crm.example.com/api/v1' },
      ]);
  });

  it('gives no query parameter an example (Swagger UI would send it as the filter)', () => {
    const queries = operations.flatMap(({ operation }) =>
      (operation.parameters ?? []).filter((parameter) => parameter.in === 'query'),
    );
    expect(queries.length).toBeGreaterThan(50);
    for (const parameter of queries) expect(JSON.stringify(parameter), parameter.name).not.toMatch(/"examples?":/);
    // Bodies keep theirs.
    expect(JSON.stringify(document.components.schemas)).toMatch(/"examples?":/);
  });
});

describe('a client generated from the document', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'touch-crm-openapi-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('typechecks with openapi-typescript', async () => {
    const generate = spawnSync(apiBin('openapi-typescript'), [OPENAPI_FILE.pathname, '-o', join(dir, 'api.d.ts')], {
      encoding: 'utf8',
    });
    expect(generate.status, generate.stderr).toBe(0);
    await writeFile(
      join(dir, 'usage.ts'),
      `import type { paths } from './api.d.ts';
type Customer = paths['/customers/{id}']['get']['responses']['200']['content']['application/json'];
type Login = paths['/auth/login']['post']['requestBody'];
export const phone = (customer: Customer): string => customer.phone;
export const login: NonNullable<Login>['content']['application/json'] = { username: 'admin', password: 'x' };
// @ts-expect-error the login body has no such field
export const wrong: NonNullable<Login>['content']['application/json'] = { username: 'a', password: 'b', role: 1 };
`,
    );
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, module: 'nodenext', allowImportingTsExtensions: true },
        files: ['usage.ts'],
      }),
    );
    const check = spawnSync(bin('tsc'), ['-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
  });
});

describe('the REST operations read from the procedures without the document', () => {
  it('are exactly the operations of the document, less the plain routes', () => {
    const fromMeta = restOperations().map(({ method, path }) => `${method.toUpperCase()} ${path}`);
    const imports = Object.entries(IMPORT_PLAIN_ROUTES).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const plain = new Set(['GET /customers/export', 'GET /orders/export', ...imports]);
    const fromDocument = operations.map(({ method, path }) => `${method} ${path}`).filter((key) => !plain.has(key));
    expect(fromMeta.sort()).toEqual(fromDocument.sort());
  });
});
