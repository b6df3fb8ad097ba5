import { PROBLEM_CONTENT_TYPE, problemSchema } from '@touch-crm/contract';
import { z } from 'zod';

type Response = { description?: string; content?: unknown; $ref?: string };
type Operation = { requestBody?: unknown; responses?: Record<string, Response> };
type Document = {
  paths?: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, unknown>; responses?: Record<string, unknown> };
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
      'The caller lacks the permission; `details.reason` PASSWORD_CHANGE_REQUIRED: in production, change the default password first',
  },
  404: { name: 'NotFound', description: 'Not found, or outside the caller’s scope' },
  409: { name: 'Conflict', description: 'Conflicts with the current state; `details` may say with what' },
  413: { name: 'ContentTooLarge', description: 'The body exceeds BODY_LIMIT_BYTES (or a field its own limit)' },
  415: { name: 'UnsupportedMediaType', description: 'The body is not `application/json`' },
  422: {
    name: 'UnprocessableContent',
    description: 'Code IDEMPOTENCY_KEY_REUSED: the Idempotency-Key was used with a different request',
  },
  429: { name: 'TooManyRequests', description: 'Too many requests; retry after Retry-After seconds', retryAfter: true },
  500: { name: 'InternalServerError', description: 'An unexpected error; quote `requestId` when reporting it' },
  503: {
    name: 'ServiceUnavailable',
    description:
      'The database is unavailable (`details.reason` DATABASE_UNAVAILABLE; retry after Retry-After seconds), ' +
      'or code TIMEOUT: the request ran longer than REQUEST_TIMEOUT_MS',
    retryAfter: true,
  },
};

const BODY_METHODS = new Set(['post', 'put', 'patch']);

/** The problem schema and the ones it names (FieldError), as `components.schemas` entries. */
function problemSchemas(): Record<string, unknown> {
  const json = z.toJSONSchema(problemSchema, { target: 'draft-2020-12', io: 'output' }) as {
    $defs?: Record<string, unknown>;
  };
  const text = JSON.stringify(json.$defs ?? {}).replaceAll('"#/$defs/', '"#/components/schemas/');
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * Every error response of every operation as the RFC 9457 problem the server sends
 * (packages/contract problemSchema), by reference to `components.responses`; trpc-to-openapi's
 * own `error.*` schemas (message/code/issues) describe no body we send and are removed. Every
 * operation may also answer 500, and one taking a body 413 and 415.
 */
export function documentProblems(document: Document) {
  document.components ??= {};
  const components = document.components;
  components.schemas ??= {};
  const schemas = components.schemas;
  for (const name of Object.keys(schemas)) if (name.startsWith('error.')) delete schemas[name];
  Object.assign(schemas, problemSchemas());
  components.responses = Object.fromEntries(
    Object.values(PROBLEM_RESPONSES).map(({ name, description, retryAfter }) => [
      name,
      {
        description,
        ...(retryAfter
          ? {
              headers: {
                'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' } },
              },
            }
          : {}),
        content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } },
      },
    ]),
  );

  for (const operations of Object.values(document.paths ?? {}))
    for (const [method, operation] of Object.entries(operations)) {
      operation.responses ??= {};
      const responses = operation.responses;
      const statuses = new Set(
        Object.keys(responses)
          .map(Number)
          .filter((status) => status >= 400),
      );
      statuses.add(500);
      if (BODY_METHODS.has(method)) for (const status of [413, 415]) statuses.add(status);
      for (const status of [...statuses].sort()) {
        const known = PROBLEM_RESPONSES[status];
        if (!known) throw new Error(`no problem response for status ${status}`);
        const specific = responses[status]?.description;
        responses[status] = {
          $ref: `#/components/responses/${known.name}`,
          ...(specific && specific !== known.description ? { description: specific } : {}),
        };
      }
    }
}
