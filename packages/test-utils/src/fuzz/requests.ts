import fc from 'fast-check';
import { HOSTILE_DATES, hostileValue, RawText, rawUrlText } from './hostile-values.ts';
import type { FuzzOperation, FuzzParameter } from './operations.ts';
import { hostileFor, type ValueContext, valueFor, withOneHostile } from './values.ts';

/** One HTTP request, fully serialised, so a report can show it and a rerun can replay it. */
export interface FuzzRequest {
  operationId: string;
  role: string;
  transport: 'rest' | 'trpc';
  method: string;
  /** Path and query below the server's origin. */
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/** Signed-in roles are sent three times as often as anonymous or forged callers. */
const ROLES = new Set(['admin', 'manager', 'rep']);

/** A bearer token per role; `undefined` sends none. */
export type Actors = Readonly<Record<string, string | undefined>>;

/** Percent-encodes like a browser, except that a lone surrogate becomes its WTF-8 bytes (%ED%A0%80). */
const percentEncode = (text: string) =>
  text.replace(/[\s\S]/gu, (unit) => {
    if (unit.isWellFormed()) return encodeURIComponent(unit);
    const code = unit.charCodeAt(0);
    return [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)]
      .map((byte) => `%${byte.toString(16).toUpperCase()}`)
      .join('');
  });

const encode = (value: unknown): string => {
  if (value instanceof RawText) return value.text;
  if (typeof value === 'string') return percentEncode(value);
  return percentEncode(typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value));
};

/**
 * A path `{id}` takes its kind from the collection before it (`/customers/{id}` → `path:customers`);
 * `users` and `roles` hold no actor and no role there.
 */
const hintOf = (operation: FuzzOperation, parameter: FuzzParameter) => {
  if (parameter.name !== 'id') return parameter.schema.format === 'uuid' ? parameter.name : `path:${parameter.name}`;
  return `path:${operation.path.split('/')[1]}`;
};

function parameterValues(
  operation: FuzzOperation,
  all: FuzzParameter[],
  context: ValueContext,
  hostile?: FuzzParameter,
) {
  const parameters = context.minimal ? all.filter((parameter) => parameter.required) : all;
  const model = Object.fromEntries(
    parameters.map((parameter) => {
      if (parameter === hostile) return [parameter.name, hostileFor(parameter.schema, context)];
      const hint = operation.pathParams.includes(parameter) ? hintOf(operation, parameter) : parameter.name;
      const value = valueFor(parameter.schema, context, hint);
      if (context.hostileRate <= 0) return [parameter.name, value];
      return [parameter.name, fc.oneof({ weight: 12, arbitrary: value }, { weight: 1, arbitrary: rawUrlText })];
    }),
  );
  const requiredKeys = parameters
    .filter((parameter) => parameter.required || parameter === hostile)
    .map((parameter) => parameter.name);
  return fc.record(model, { requiredKeys }) as fc.Arbitrary<Record<string, unknown>>;
}

/** Bodies that are not the shape asked for at all. */
const hostileBody = fc.oneof(
  fc.constantFrom(
    '',
    'not json',
    '{"unterminated": ',
    'null',
    '[]',
    '"a string"',
    '1e999',
    '{"a":1,"a":2}',
    `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
    `{"x":"${'\\ud800'.repeat(10)}"}`,
    '{"x":"\\u0000"}',
  ),
  hostileValue.map((value) => JSON.stringify(value) ?? 'null'),
);

const csvCell = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('+12025550123', '0000-01-01', '9999-12-31', 'CUSTOMER', '=cmd|calc', '"quoted, cell"', 'yes'),
);
const csvBody = fc.oneof(
  fc
    .array(fc.array(csvCell, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 6 })
    .map((rows) =>
      ['firstName,lastName,phone,birthday,status,smsOptIn', ...rows.map((row) => row.join(','))].join('\n'),
    ),
  fc.constantFrom('', '\ufeff', 'a,b\n"unclosed', 'phone\n\u0000', '\xff\xfe'),
);

function serialiseBody(operation: FuzzOperation, value: unknown, raw: string | undefined) {
  if (raw !== undefined) return { body: raw, contentType: 'application/json' };
  if (operation.body?.contentType === 'text/csv') return { body: String(value), contentType: 'text/csv' };
  if (operation.body?.contentType === 'multipart/form-data') {
    const boundary = 'fuzzboundary';
    const body = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a\u0000.csv"\r\nContent-Type: text/csv\r\n\r\n${String(value)}\r\n--${boundary}--\r\n`;
    return { body, contentType: `multipart/form-data; boundary=${boundary}` };
  }
  return { body: JSON.stringify(value) ?? 'null', contentType: 'application/json' };
}

/**
 * Requests for one operation: any role, either transport. With a hostile rate of 0 every part
 * is valid-looking; otherwise parts turn hostile at that rate, and now and then the whole body
 * is replaced or a boundary date is put into a date filter.
 */
export function requestsFor(
  operation: FuzzOperation,
  context: ValueContext,
  actors: Actors,
): fc.Arbitrary<FuzzRequest> {
  if (!context.single) return build(operation, context, actors);
  const json = operation.body?.contentType === 'application/json' ? operation.body : undefined;
  const targets: (FuzzParameter | 'body')[] = [...operation.pathParams, ...operation.queryParams];
  if (json) targets.push('body');
  if (targets.length === 0) return build(operation, { ...context, single: false }, actors);
  return fc.oneof(...targets.map((target) => build(operation, context, actors, target)));
}

function build(
  operation: FuzzOperation,
  context: ValueContext,
  actors: Actors,
  target?: FuzzParameter | 'body',
): fc.Arbitrary<FuzzRequest> {
  const hostile = context.hostileRate > 0;
  const parameter = target === 'body' ? undefined : target;
  const bodyValue: fc.Arbitrary<unknown> =
    operation.body?.contentType === 'application/json'
      ? target === 'body'
        ? withOneHostile(operation.body.schema, context)
        : valueFor(operation.body.schema, context)
      : operation.body
        ? csvBody
        : fc.constant(undefined);
  return fc
    .record({
      role: fc.oneof(
        ...Object.keys(actors).map((role) => ({
          weight: ROLES.has(role) ? 3 : 1,
          arbitrary: fc.constant(role),
        })),
      ),
      transport: operation.procedure ? fc.constantFrom('rest' as const, 'trpc' as const) : fc.constant('rest' as const),
      path: parameterValues(operation, operation.pathParams, context, parameter),
      query: parameterValues(operation, operation.queryParams, context, parameter),
      body: bodyValue,
      rawBody: operation.body && hostile ? fc.option(hostileBody, { freq: 6, nil: undefined }) : fc.constant(undefined),
      date: hostile
        ? fc.option(fc.constantFrom(...HOSTILE_DATES), { freq: 4, nil: undefined })
        : fc.constant(undefined),
    })
    .map(({ role, transport, path, query, body, rawBody, date }) => {
      const token = actors[role];
      const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
      // A boundary date in a date-like query parameter, often enough to hit every filter.
      const dateParameter = operation.queryParams.find((parameter) =>
        /date|from|to|before|after/i.test(parameter.name),
      );
      if (date && dateParameter) query[dateParameter.name] = date;
      if (transport === 'trpc' && operation.procedure) {
        const plain = (value: unknown) => (value instanceof RawText ? value.text : value);
        const parts = Object.fromEntries(
          Object.entries({ ...path, ...query }).map(([key, value]) => [key, plain(value)]),
        );
        const input = body !== null && typeof body === 'object' && !Array.isArray(body) ? { ...parts, ...body } : parts;
        const json = rawBody ?? JSON.stringify(Object.keys(input).length ? input : (body ?? input));
        if (operation.procedureKind === 'query')
          return {
            operationId: operation.operationId,
            role,
            transport,
            method: 'GET',
            url: `/trpc/${operation.procedure}?input=${encodeURIComponent(json)}`,
            headers,
          };
        return {
          operationId: operation.operationId,
          role,
          transport,
          method: 'POST',
          url: `/trpc/${operation.procedure}`,
          headers: { ...headers, 'content-type': 'application/json' },
          body: json,
        };
      }
      const filled = operation.path.replace(/\{(\w+)\}/g, (_, name: string) => encode(path[name] ?? ''));
      const search = Object.entries(query)
        .filter(([, value]) => value !== undefined)
        .map(([key, value]) => `${key}=${encode(value)}`)
        .join('&');
      const request: FuzzRequest = {
        operationId: operation.operationId,
        role,
        transport,
        method: operation.method,
        url: `/api/v1${filled}${search ? `?${search}` : ''}`,
        headers,
      };
      if (operation.body) {
        const { body: text, contentType } = serialiseBody(operation, body, rawBody);
        request.body = text;
        request.headers = { ...headers, 'content-type': contentType };
      }
      return request;
    });
}
