import type { Meta } from './trpc.ts';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Every protected operation takes a sign-in JWT or an API key (as a bearer token, or in X-Api-Key). */
export const PROTECTED_SECURITY: Record<string, string[]>[] = [{ bearerAuth: [] }, { apiKeyAuth: [] }];

/** The statuses every protected operation may answer besides success (openapi-problems adds 500, 413, 415). */
const ERRORS_PROTECTED = [400, 401, 403, 404, 409, 429, 503] as const;

/** The REST mirror's route for a procedure, with its tag and documented errors. */
export function rest(
  method: Method,
  path: `/${string}`,
  tag: string,
  summary: string,
  options: { protect?: boolean; successStatus?: number; description?: string } = {},
): Meta {
  const protect = options.protect ?? true;
  // Statuses only: openapi-problems documents each as its problem response.
  const errorResponses: number[] = protect ? [...ERRORS_PROTECTED] : [400, 401, 429, 503];
  return {
    openapi: {
      method,
      path,
      tags: [tag],
      summary,
      description: options.description,
      protect,
      errorResponses,
      ...(options.successStatus ? { successDescription: String(options.successStatus) } : {}),
    },
    ...(options.successStatus ? { successStatus: options.successStatus } : {}),
  };
}
