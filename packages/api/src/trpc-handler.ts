import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { appRouter } from './app-router.ts';
import type { Context } from './context.ts';
import { handleError, toHttpError } from './http-error.ts';

/**
 * The tRPC transport at `endpoint`. Built here, beside the router, so every error it meets is
 * of the tRPC instance the procedures throw (apps resolve their own copy of @trpc/server).
 */
export function createTrpcHandler(options: { endpoint: string; maxBatchSize: number }) {
  return (request: Request, context: Context): Promise<Response> =>
    fetchRequestHandler({
      endpoint: options.endpoint,
      req: request,
      router: appRouter,
      maxBatchSize: options.maxBatchSize,
      createContext: () => context,
      responseMeta: ({ errors }) => (errors[0] ? { headers: toHttpError(errors[0], context.requestId).headers } : {}),
      onError: ({ error }) => handleError(error, context),
    });
}
