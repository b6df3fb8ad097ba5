import { customerExportInput, orderExportInput, REASON } from '@touch-crm/contract';
import { generateOpenApiDocument } from 'trpc-to-openapi';
import { z } from 'zod';
import { appRouter, procedureMetas } from './app-router.ts';
import { documentIdempotency } from './edge/openapi.ts';
import { IMPORT_PLAIN_ROUTES } from './openapi-imports.ts';
import { type ErrorReasons, errorReasonsOf, errorResponsesOf, PROTECTED_SECURITY } from './openapi-meta.ts';
import { documentProblems, ERROR_REASONS_EXTENSION } from './openapi-problems.ts';
import { documentSuccessStatuses } from './success-status.ts';

export const REST_PREFIX = '/api/v1';

export const openApiFileContent = (document: object) => `${JSON.stringify(document, null, 2)}\n`;

/** The document's tags, each with what its operations are about. */
const TAGS: Record<string, string> = {
  auth: 'Sign-in, the current user and password changes',
  users: 'Staff accounts (permission users:*)',
  roles: 'Roles and the permissions they grant',
  customers: 'Customers, their timeline, levels, export and CSV import',
  products: 'The product catalogue',
  orders: 'Orders, their items and cancellation',
  promotions: 'Promotions and their assignment to customers',
  projects: 'Projects grouping tasks',
  tasks: 'Tasks, recurring series and their status walk',
  worklogs: 'Time logged on tasks',
  audit: 'The audit trail of who did what',
  messages: 'SMS messages and templates',
  campaigns: 'SMS campaigns to customer segments',
  jobs: 'Background jobs: their runs and manual starts',
  webhooks: 'Webhook subscriptions and deliveries',
  'api-keys': 'API keys (service accounts) acting for their creator',
  events: 'The domain event feed: the pull alternative to webhooks',
};

/** An export's errors: those of a list, and 429 EXPORTS_BUSY when too many of the caller's (or the server's) exports run. */
const EXPORT_ERRORS = errorReasonsOf('/export', 'permission', { 429: [REASON.EXPORTS_BUSY] });

const exportOperation = (tag: string, summary: string, description: string, query: z.ZodObject) => ({
  get: {
    tags: [tag],
    summary,
    description,
    operationId: `${tag}-export`,
    security: PROTECTED_SECURITY,
    requestParams: { query },
    [ERROR_REASONS_EXTENSION]: EXPORT_ERRORS,
    responses: {
      200: {
        description: "Every matching row in the caller's scope, streamed",
        content: { 'text/csv': { schema: z.string() }, 'application/x-ndjson': { schema: z.string() } },
      },
      ...errorResponsesOf(EXPORT_ERRORS, { 400: 'Invalid filter: `errors` names each failing field' }),
    },
  },
});

/** Plain HTTP routes served beside the procedures (see apps/api plain-routes.ts). */
const PLAIN_ROUTES = {
  '/customers/export': exportOperation(
    'customers',
    'Export customers as CSV or NDJSON (the list filters; permission customers:export)',
    'Streams every customer matching the filters of `GET /customers` in the caller’s scope (sales reps: their own), ' +
      'without paging: `format=csv` (the default; UTF-8, a header row, RFC 4180 quoting; it imports back through ' +
      '`POST /customers/import`) or `format=json` (NDJSON, one object per line). Rows come through a database cursor, ' +
      'so a large export never sits in memory. Exports have their own lower rate limit (`exports` in ' +
      'RateLimit-Policy) and a cap on concurrent exports per user and per server (429 EXPORTS_BUSY).',
    customerExportInput,
  ),
  '/orders/export': exportOperation(
    'orders',
    'Export orders as CSV or NDJSON (the list filters; permission customers:export)',
    'Streams every order matching the filters of `GET /orders` in the caller’s scope (sales reps: their customers’ ' +
      'orders), without paging, as `format=csv` or `format=json` (NDJSON). Same limits as the customer export.',
    orderExportInput,
  ),
  ...IMPORT_PLAIN_ROUTES,
};

/**
 * The REST mirror's operations (method and OpenAPI path template, `/customers/{id}`), read from the
 * procedures' meta: what the metrics' route labels need, without generating the document.
 */
export function restOperations(): { method: string; path: string }[] {
  return procedureMetas().flatMap(([, meta]) =>
    meta?.openapi ? [{ method: meta.openapi.method, path: meta.openapi.path }] : [],
  );
}

/** The paths of the POST operations whose answer carries a secret (meta `secretResponse`): no Idempotency-Key there. */
function secretPostPaths(): Set<string> {
  return new Set(
    procedureMetas().flatMap(([, meta]) =>
      meta?.secretResponse && meta.openapi?.method === 'POST' ? [meta.openapi.path] : [],
    ),
  );
}

type Parameter = { in?: string };
type OperationsDocument = {
  paths?: Record<string, Record<string, { parameters?: Parameter[]; [ERROR_REASONS_EXTENSION]?: ErrorReasons }>>;
};

/** Each procedure's operation lists its error statuses' reasons (`x-error-reasons`), from `rest()`. */
function documentErrorReasons(document: OperationsDocument) {
  for (const [, meta] of procedureMetas()) {
    if (!meta?.openapi || !meta.errorReasons) continue;
    const operation = document.paths?.[meta.openapi.path]?.[meta.openapi.method.toLowerCase()];
    if (operation) operation[ERROR_REASONS_EXTENSION] = meta.errorReasons;
  }
  // Only the statuses that carry a reason: the rest are told apart by status and `code`.
  for (const operations of Object.values(document.paths ?? {}))
    for (const operation of Object.values(operations)) {
      const reasons = Object.entries(operation[ERROR_REASONS_EXTENSION] ?? {}).filter(([, list]) => list?.length);
      if (reasons.length) operation[ERROR_REASONS_EXTENSION] = Object.fromEntries(reasons);
      else delete operation[ERROR_REASONS_EXTENSION];
    }
}

/** The value with every `example` and `examples` key removed, at any depth. */
function withoutExamples(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutExamples);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== 'example' && key !== 'examples')
      .map(([key, inner]) => [key, withoutExamples(inner)]),
  );
}

/**
 * Query parameters carry no example: Swagger UI's "Try it out" fills a parameter with its example
 * (or its schema's), so every filter would be sent with a made-up id and the list would come back
 * empty. Request bodies keep theirs: there an example is a useful start.
 */
function withoutQueryExamples(document: OperationsDocument) {
  for (const operations of Object.values(document.paths ?? {}))
    for (const operation of Object.values(operations))
      operation.parameters &&= operation.parameters.map((parameter) =>
        parameter.in === 'query' ? (withoutExamples(parameter) as Parameter) : parameter,
      );
}

/** The OpenAPI 3.1 document of the REST mirror, generated from the procedures' zod schemas. */
export function buildOpenApiDocument(options: { version: string; serverUrl?: string }) {
  const document = generateOpenApiDocument(appRouter, {
    title: 'Touch CRM API',
    description:
      'CRM and customer-loyalty backend. Every operation is also a tRPC procedure at /trpc; ' +
      'sign in with POST /auth/login and send the token as `Authorization: Bearer <token>`, ' +
      'or create an API key (POST /api-keys) and send it as `Authorization: Bearer tcrm_…` or `X-Api-Key: tcrm_…`.',
    version: options.version,
    // Absolute behind a known public address (PUBLIC_URL), else relative to wherever the document was read.
    baseUrl: `${options.serverUrl?.replace(/\/+$/, '') ?? ''}${REST_PREFIX}`,
    tags: Object.keys(TAGS),
    securitySchemes: {
      bearerAuth: {
        type: 'http',
        scheme: 'bearer',
        description: 'The token from POST /auth/login (a JWT), or an API key (`tcrm_…`)',
      },
      apiKeyAuth: { type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'An API key (`tcrm_…`)' },
    },
    paths: PLAIN_ROUTES,
  });
  documentErrorReasons(document as OperationsDocument);
  documentSuccessStatuses(document as Parameters<typeof documentSuccessStatuses>[0]);
  documentIdempotency(document as Parameters<typeof documentIdempotency>[0], secretPostPaths());
  documentProblems(document as Parameters<typeof documentProblems>[0]);
  withoutQueryExamples(document as OperationsDocument);
  document.info.license = { name: 'MIT', identifier: 'MIT' };
  document.tags = document.tags?.map((tag) => ({ ...tag, description: TAGS[tag.name] }));
  // A public operation (login) says so: no security scheme applies.
  for (const operations of Object.values(document.paths ?? {}))
    for (const operation of Object.values(operations as Record<string, { security?: unknown[] }>))
      operation.security ??= [];
  return document;
}
