import { customerExportInput, orderExportInput } from '@touch-crm/contract';
import { generateOpenApiDocument } from 'trpc-to-openapi';
import { z } from 'zod';
import { appRouter } from './app-router.ts';
import { documentIdempotency } from './edge/openapi.ts';
import { IMPORT_PLAIN_ROUTES } from './openapi-imports.ts';
import { PROTECTED_SECURITY } from './openapi-meta.ts';
import { documentProblems } from './openapi-problems.ts';
import { documentSuccessStatuses } from './success-status.ts';
import type { Meta } from './trpc.ts';

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

const exportOperation = (tag: string, summary: string, query: z.ZodObject) => ({
  get: {
    tags: [tag],
    summary,
    operationId: `${tag}-export`,
    security: PROTECTED_SECURITY,
    requestParams: { query },
    responses: {
      200: {
        description: "Every matching row in the caller's scope, streamed",
        content: { 'text/csv': { schema: z.string() }, 'application/x-ndjson': { schema: z.string() } },
      },
      400: { description: 'Invalid filter: `errors` names each failing field' },
      401: { description: '' },
      403: {
        description:
          'The caller lacks the export permission; `details.reason` PASSWORD_CHANGE_REQUIRED: change the default password first',
      },
      404: { description: '' },
      409: { description: '' },
      429: { description: '' },
      503: { description: '' },
    },
  },
});

/** Plain HTTP routes served beside the procedures (see apps/api plain-routes.ts). */
const PLAIN_ROUTES = {
  '/customers/export': exportOperation(
    'customers',
    'Export customers as CSV or NDJSON (the list filters; permission customers:export)',
    customerExportInput,
  ),
  '/orders/export': exportOperation(
    'orders',
    'Export orders as CSV or NDJSON (the list filters; permission customers:export)',
    orderExportInput,
  ),
  ...IMPORT_PLAIN_ROUTES,
};

/**
 * The REST mirror's operations (method and OpenAPI path template, `/customers/{id}`), read from the
 * procedures' meta: what the metrics' route labels need, without generating the document.
 */
export function restOperations(): { method: string; path: string }[] {
  // `_def.procedures` is flat (`customers.get`) at run time; its type is the nested router.
  const procedures = appRouter._def.procedures as unknown as Record<string, { _def: { meta?: Meta } }>;
  return Object.values(procedures).flatMap(({ _def: { meta } }) =>
    meta?.openapi ? [{ method: meta.openapi.method, path: meta.openapi.path }] : [],
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
    baseUrl: `${options.serverUrl ?? ''}${REST_PREFIX}`,
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
  documentSuccessStatuses(document as Parameters<typeof documentSuccessStatuses>[0]);
  documentIdempotency(document as Parameters<typeof documentIdempotency>[0]);
  documentProblems(document as Parameters<typeof documentProblems>[0]);
  document.info.license = { name: 'MIT', identifier: 'MIT' };
  document.tags = document.tags?.map((tag) => ({ ...tag, description: TAGS[tag.name] }));
  // A public operation (login) says so: no security scheme applies.
  for (const operations of Object.values(document.paths ?? {}))
    for (const operation of Object.values(operations as Record<string, { security?: unknown[] }>))
      operation.security ??= [];
  return document;
}
