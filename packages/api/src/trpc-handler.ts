import type { TRPCError } from '@trpc/server';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { appRouter } from './app-router.ts';
import type { Context } from './context.ts';
import { errorAnswer, handleError, toHttpError } from './http-error.ts';
import { jsonBodyRefusal } from './json-body.ts';

/**
 * The tRPC transport at `endpoint`. Built here, beside the router, so every error it meets is
 * of the tRPC instance the procedures throw (apps resolve their own copy of @trpc/server).
 */
export function createTrpcHandler(options: { endpoint: string; maxBatchSize: number }) {
  return async (request: Request, context: Context): Promise<Response> => {
    const path = () => new URL(request.url).pathname;
    // A mutation's input is JSON; tRPC would also take form data or a stream, which no procedure reads.
    const refusal = request.method === 'POST' ? jsonBodyRefusal(request) : undefined;
    if (refusal) return errorAnswer(handleError(refusal, context), path());
    // An error about the request as a whole (its content type, batch size, mixed procedure types)
    // comes before tRPC creates the context, so its formatter saw no request id: answered again below.
    let beforeContext: TRPCError | undefined;
    const response = await fetchRequestHandler({
      endpoint: options.endpoint,
      req: request,
      router: appRouter,
      maxBatchSize: options.maxBatchSize,
      createContext: () => context,
      responseMeta: ({ errors }) => (errors[0] ? { headers: toHttpError(errors[0], context.requestId).headers } : {}),
      onError: ({ error, ctx }) => {
        if (!ctx) beforeContext = error;
        handleError(error, context);
      },
    });
    if (!beforeContext) return response;
    await response.body?.cancel();
    return errorAnswer(toHttpError(beforeContext, context.requestId), path());
  };
}
