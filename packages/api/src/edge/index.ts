import { domainErrorOf, requestPrincipal } from '@touch-crm/services';
import type { Context } from '../context.ts';
import { errorAnswer, handleError } from '../http-error.ts';
import { idempotent } from './idempotency.ts';
import { checkRateLimits } from './rate-limit.ts';
import type { RateLimitCounter } from './rate-limit-counter.ts';

/**
 * What every request to the procedures and plain routes passes first: its rate limits (headers on
 * every answer, 429 beyond them) and, for a POST with an `Idempotency-Key`, the stored answer
 * (unless `carriesSecret` says the answer must never be stored). Wraps the tRPC handler, the REST
 * mirror and the plain routes alike; its refusals are in the envelope of the transport.
 */
export async function guarded(
  { limits, carriesSecret }: { limits: RateLimitCounter; carriesSecret: (request: Request) => boolean },
  request: Request,
  ctx: Context,
  handle: () => Promise<Response>,
): Promise<Response> {
  let response: Response;
  let limitHeaders: Record<string, string> = {};
  const path = new URL(request.url).pathname;
  try {
    const principal = await requestPrincipal(ctx.deps, ctx.credentials);
    const decision = await checkRateLimits(limits, ctx.deps.config, {
      method: request.method,
      path,
      ip: ctx.ip,
      principal,
    }).catch((error: unknown) => {
      // The counters live in PostgreSQL: while it is unreachable the request goes on uncounted, so
      // the transport answers its own 503 (a tRPC call in tRPC's envelope).
      if (domainErrorOf(error)?.kind === 'SERVICE_UNAVAILABLE') return undefined;
      throw error;
    });
    if (!decision) return await handle();
    limitHeaders = decision.headers;
    if (decision.refusal) throw decision.refusal;
    response = await idempotent(ctx.deps, request, principal, handle, carriesSecret);
  } catch (error) {
    response = errorAnswer(handleError(error, ctx), path);
  }
  for (const [name, value] of Object.entries(limitHeaders)) response.headers.set(name, value);
  return response;
}
