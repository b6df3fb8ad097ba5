import { buildOpenApiDocument } from '@touch-crm/api';
import { findLeaks, generateRequests, type OpenApiDocument } from '@touch-crm/test-utils/fuzz';
import { describe, expect, it } from 'vitest';

const document = buildOpenApiDocument({ version: 'test' }) as unknown as OpenApiDocument;
const options = {
  baseUrl: 'http://127.0.0.1:1',
  document,
  procedures: new Set(['customers.list', 'customers.create', 'auth.login']),
  actors: { admin: 'a', rep: 'r', anonymous: undefined },
  ids: { customers: ['0b9f5c2e-4a7d-4d8e-9a51-3f0c2d1e7b6a'] },
  secrets: [],
  requests: 1_000,
};

describe('the fuzz generator', () => {
  it('gives the same requests for the same seed, and other requests for another', () => {
    const sample = { ...options, requests: 200 };
    expect(generateRequests({ ...sample, seed: 7 })).toEqual(generateRequests({ ...sample, seed: 7 }));
    expect(generateRequests({ ...sample, seed: 8 })).not.toEqual(generateRequests({ ...sample, seed: 7 }));
  });

  it('covers every operation and sends NUL, lone surrogates and out-of-range dates', () => {
    const requests = generateRequests({ ...options, seed: 1 });
    const operations = Object.values(document.paths).flatMap((item) => Object.keys(item)).length;
    expect(new Set(requests.map((request) => request.operationId)).size).toBe(operations);
    const decode = (url: string) => {
      try {
        return decodeURIComponent(url);
      } catch {
        return url;
      }
    };
    const text = requests.map((request) => `${decode(request.url)} ${request.body ?? ''}`).join('\n');
    expect(text).toContain('\\u0000');
    expect(text).toMatch(/\\ud[89ab]/);
    expect(text).toContain('0000-01-01T00:00:00Z');
    expect(text).toContain('9999-12-31T23:59:59-14:00');
    expect(requests.some((request) => request.transport === 'trpc')).toBe(true);
  });
});

describe('the leak detector', () => {
  it('flags stack traces, SQL errors, database words, argon2 hashes and secrets', () => {
    const kinds = (body: string) => findLeaks(body, '', ['s3cret-value']).map((leak) => leak.kind);
    expect(kinds('Error\n    at run (file:///app/src/x.ts:10:5)')).toContain('stack trace');
    expect(kinds('duplicate key value violates unique constraint "customers_phone"')).toContain('SQL error');
    expect(kinds('{"message":"select id from customers where x"}')).toContain('SQL text');
    expect(kinds('PostgresError: boom')).toContain('database name');
    expect(kinds('$argon2id$v=19$m=19456,t=2,p=1$abc')).toContain('password hash');
    expect(kinds('token s3cret-value')).toContain('secret');
    expect(kinds('{"message":"Input validation failed"}')).toEqual([]);
  });

  it('does not count the client’s own text echoed back', () => {
    expect(findLeaks('{"notes":"select name from users"}', '{"notes":"select name from users"}', [])).toEqual([]);
  });
});
