import { type ErrorReason, PROBLEM_CONTENT_TYPE, problemSchema } from '@touch-crm/contract';
import { z } from 'zod';

/** The operation extension listing, by error status, the `reason`s that status may carry on it. */
export const ERROR_REASONS_EXTENSION = 'x-error-reasons';

type Response = { description?: string; content?: unknown; headers?: Record<string, unknown>; $ref?: string };
type Operation = {
  requestBody?: unknown;
  responses?: Record<string, Response>;
  [ERROR_REASONS_EXTENSION]?: Partial<Record<number, readonly ErrorReason[]>>;
};
type Document = {
  paths?: Record<string, Record<string, Operation>>;
  components?: {
    schemas?: Record<string, unknown>;
    responses?: Record<string, unknown>;
    headers?: Record<string, unknown>;
  };
};

/** The reusable error responses, by status: name and what the status means on any operation. */
export const PROBLEM_RESPONSES: Record<number, { name: string; description: string; retryAfter?: boolean }> = {
  400: {
    name: 'BadRequest',
    description:
      'Invalid input (code BAD_REQUEST): `errors` names each failing field. Code PARSE_ERROR: malformed JSON',
  },
  401: {
    name: 'Unauthorized',
    description: 'Missing, invalid or expired token or API key (at login: wrong username or password)',
  },
  403: {
    name: 'Forbidden',
    description:
      'Refused for this caller: the permission or scope is missing (`reason` PERMISSION_DENIED), or, in ' +
      'production, the default password must be changed first (PASSWORD_CHANGE_REQUIRED)',
  },
  404: { name: 'NotFound', description: 'Not found, or outside the caller’s scope' },
  409: {
    name: 'Conflict',
    description:
      'Conflicts with the current state: `reason` says with what. Code IDEMPOTENCY_KEY_IN_USE (no reason): ' +
      'a request with this Idempotency-Key is still running; retry after Retry-After seconds',
    retryAfter: true,
  },
  413: { name: 'ContentTooLarge', description: 'The body exceeds BODY_LIMIT_BYTES (or a field its own limit)' },
  415: { name: 'UnsupportedMediaType', description: 'The body is not `application/json`' },
  422: {
    name: 'UnprocessableContent',
    description: 'Code IDEMPOTENCY_KEY_REUSED: the Idempotency-Key was used with a different request',
  },
  429: {
    name: 'TooManyRequests',
    description:
      'Too many requests: a quota of RateLimit-Policy is spent (`reason` RATE_LIMITED); retry after Retry-After seconds',
    retryAfter: true,
  },
  500: { name: 'InternalServerError', description: 'An unexpected error; quote `requestId` when reporting it' },
  503: {
    name: 'ServiceUnavailable',
    description:
      'The database is unavailable (`reason` DATABASE_UNAVAILABLE): retry after Retry-After seconds. ' +
      'Code TIMEOUT (no reason): the request ran longer than REQUEST_TIMEOUT_MS',
    retryAfter: true,
  },
};

/** The rate-limit headers every answer carries (draft-ietf-httpapi-ratelimit-headers; edge/rate-limit.ts). */
const RATE_LIMIT_HEADERS = {
  'RateLimit-Policy': {
    description:
      'The quotas this request counts against, as a structured list: `"default";q=6000;w=60` ' +
      '(quota q requests per window of w seconds), plus `exports`, `imports` or `campaign-execute` on those endpoints',
    schema: { type: 'string' },
  },
  RateLimit: {
    description:
      'What is left of each quota of RateLimit-Policy: `"default";r=5999;t=42` (r requests remain, the window resets in t seconds)',
    schema: { type: 'string' },
  },
};

const HEADERS = {
  ...RATE_LIMIT_HEADERS,
  'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer', minimum: 0 } },
  'Idempotent-Replayed': {
    description: '`true` when this is the stored answer to an earlier request with the same Idempotency-Key',
    schema: { type: 'string', enum: ['true'] },
  },
};

const headerRefs = (names: (keyof typeof HEADERS)[]) =>
  Object.fromEntries(names.map((name) => [name, { $ref: `#/components/headers/${name}` }]));

const BODY_METHODS = new Set(['post', 'put', 'patch']);

/** The problem schema and the ones it names (FieldError, ErrorReason), as `components.schemas` entries. */
function problemSchemas(): Record<string, unknown> {
  const json = z.toJSONSchema(problemSchema, { target: 'draft-2020-12', io: 'output' }) as {
    $defs?: Record<string, unknown>;
  };
  const text = JSON.stringify(json.$defs ?? {}).replaceAll('"#/$defs/', '"#/components/schemas/');
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * What a status means on one operation: its own words (or the status's), and the reasons it may
 * carry there when they are not just the usual ones the status's words name.
 */
function describe(general: string, specific: string | undefined, reasons: readonly ErrorReason[] = []) {
  const text = specific || general;
  const unnamed = reasons.filter((reason) => !general.includes(reason));
  return unnamed.length ? `${text}. \`reason\` here: ${reasons.join(', ')}` : text;
}

/**
 * Every error response of every operation as the RFC 9457 problem the server sends
 * (packages/contract problemSchema), by reference to `components.responses`, with the reasons it
 * may carry there (the operation's `x-error-reasons`); trpc-to-openapi's own `error.*` schemas
 * describe no body we send and are removed. Every operation may also answer 500, and one taking
 * a body 413 and 415. Every answer carries the RateLimit headers.
 */
export function documentProblems(document: Document) {
  document.components ??= {};
  const components = document.components;
  components.schemas ??= {};
  const schemas = components.schemas;
  for (const name of Object.keys(schemas)) if (name.startsWith('error.')) delete schemas[name];
  Object.assign(schemas, problemSchemas());
  components.headers = { ...components.headers, ...HEADERS };
  components.responses = Object.fromEntries(
    Object.values(PROBLEM_RESPONSES).map(({ name, description, retryAfter }) => [
      name,
      {
        description,
        headers: headerRefs(
          retryAfter ? ['RateLimit-Policy', 'RateLimit', 'Retry-After'] : ['RateLimit-Policy', 'RateLimit'],
        ),
        content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } },
      },
    ]),
  );

  for (const operations of Object.values(document.paths ?? {}))
    for (const [method, operation] of Object.entries(operations)) {
      operation.responses ??= {};
      const responses = operation.responses;
      const reasons = operation[ERROR_REASONS_EXTENSION] ?? {};
      for (const [status, response] of Object.entries(responses))
        if (Number(status) < 400)
          response.headers = { ...response.headers, ...headerRefs(['RateLimit-Policy', 'RateLimit']) };
      const statuses = new Set(
        [...Object.keys(responses), ...Object.keys(reasons)].map(Number).filter((s) => s >= 400),
      );
      statuses.add(500);
      if (BODY_METHODS.has(method)) for (const status of [413, 415]) statuses.add(status);
      for (const status of [...statuses].sort()) {
        const known = PROBLEM_RESPONSES[status];
        if (!known) throw new Error(`no problem response for status ${status}`);
        const description = describe(known.description, responses[status]?.description, reasons[status]);
        responses[status] = {
          $ref: `#/components/responses/${known.name}`,
          ...(description !== known.description ? { description } : {}),
        };
      }
    }
}
