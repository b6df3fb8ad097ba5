import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApiDocument, openApiFileContent, restOperations } from '../src/index.ts';
import { IMPORT_PLAIN_ROUTES } from '../src/openapi-imports.ts';

/** The committed copy that packages/client ships (written by `pnpm openapi`). */
const OPENAPI_FILE = new URL('../../client/openapi.json', import.meta.url);

type Operation = { security?: unknown[]; tags?: string[]; responses: Record<string, unknown> };
const document = buildOpenApiDocument({ version: 'stable' }) as unknown as {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown> };
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

  it('puts bearer security, a domain tag and the error responses on every protected operation', () => {
    for (const { path, method, operation } of operations) {
      const name = `${method} ${path}`;
      expect(operation.tags?.length, name).toBe(1);
      if (name === 'POST /auth/login') {
        expect(operation.security ?? [], name).toEqual([]);
        continue;
      }
      expect(operation.security, name).toEqual([{ bearerAuth: [] }, { apiKeyAuth: [] }]);
      for (const status of ['400', '401', '403', '404', '409', '429'])
        expect(Object.keys(operation.responses), name).toContain(status);
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
