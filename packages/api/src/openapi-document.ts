import { generateOpenApiDocument } from 'trpc-to-openapi';
import { appRouter } from './app-router.ts';

export const REST_PREFIX = '/api/v1';

const TAGS = ['auth', 'users', 'roles'];

/** The OpenAPI 3.1 document of the REST mirror, generated from the procedures' zod schemas. */
export function buildOpenApiDocument(options: { version: string; serverUrl?: string }) {
  return generateOpenApiDocument(appRouter, {
    title: 'Touch CRM API',
    description:
      'CRM and customer-loyalty backend. Every operation is also a tRPC procedure at /trpc; ' +
      'sign in with POST /auth/login and send the token as `Authorization: Bearer <token>`.',
    version: options.version,
    baseUrl: `${options.serverUrl ?? ''}${REST_PREFIX}`,
    tags: TAGS,
    securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
  });
}
