import type { Meta } from './trpc.ts';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Every protected operation takes a sign-in JWT or an API key (as a bearer token, or in X-Api-Key). */
export const PROTECTED_SECURITY: Record<string, string[]>[] = [{ bearerAuth: [] }, { apiKeyAuth: [] }];

/** The 503 every operation may answer while PostgreSQL cannot be reached, or past REQUEST_TIMEOUT_MS. */
export const SERVICE_UNAVAILABLE_DESCRIPTION =
  'The database is unavailable (`data.details.reason` DATABASE_UNAVAILABLE); retry after Retry-After seconds. ' +
  'Code TIMEOUT: the request ran longer than the server allows (REQUEST_TIMEOUT_MS)';

const ERRORS_PROTECTED = {
  400: 'Invalid input: `issues` names each failing field',
  401: 'Missing, invalid or expired token',
  403: 'The caller lacks the permission; `data.details.reason` PASSWORD_CHANGE_REQUIRED: in production, change the default password first',
  404: 'Not found, or outside the caller’s scope',
  409: 'Conflicts with the current state',
  429: 'Too many requests; see Retry-After',
  503: SERVICE_UNAVAILABLE_DESCRIPTION,
} as const;

/** The REST mirror's route for a procedure, with its tag and documented errors. */
export function rest(
  method: Method,
  path: `/${string}`,
  tag: string,
  summary: string,
  options: { protect?: boolean; successStatus?: number; description?: string } = {},
): Meta {
  const protect = options.protect ?? true;
  const errorResponses: Record<number, string> = protect
    ? { ...ERRORS_PROTECTED }
    : {
        400: ERRORS_PROTECTED[400],
        401: 'Invalid credentials',
        429: ERRORS_PROTECTED[429],
        503: ERRORS_PROTECTED[503],
      };
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
