import type { ServerResponse } from 'node:http';
import { createOpenApiNodeHttpHandler } from 'trpc-to-openapi';
import { type AppRouter, appRouter } from './app-router.ts';
import type { Context } from './context.ts';
import { EdgeError, errorResponse, type HttpError, handleError } from './http-error.ts';
import { jsonBodyRefusal } from './json-body.ts';
import { REST_PREFIX } from './openapi-document.ts';
import { restRouteMatcher } from './rest-routes.ts';
import { successStatusOf } from './success-status.ts';

const REQUEST = Symbol('touch-crm.request');
/** The methods whose procedures take their input from the query string (trpc-to-openapi's acceptsRequestBody). */
const NO_BODY = new Set(['GET', 'DELETE']);

/** No Content-Type and no body: no length (or 0) and not chunked. */
const hasNoBody = (request: Request) =>
  !request.headers.has('content-type') &&
  (request.headers.get('content-length') ?? '0') === '0' &&
  !request.headers.has('transfer-encoding');

/** What one REST call carries through trpc-to-openapi's callbacks. */
interface CallState {
  context: Context;
  error?: HttpError;
}

/**
 * The REST mirror. trpc-to-openapi's fetch adapter rebuilds its whole handler (route
 * patterns, and outside production the OpenAPI document) on every request; this builds it
 * once and adapts each fetch Request to it, parsing the JSON body here so another media type
 * is a 415 and malformed JSON a clean 400. Errors are answered with toHttpError's body, as on every other route.
 */
export function createRestHandler() {
  const stateOf = (req: unknown) => (req as Record<symbol, CallState>)[REQUEST] as CallState;
  const handler = createOpenApiNodeHttpHandler<AppRouter, never, never>({
    router: appRouter,
    createContext: ({ req }) => stateOf(req).context,
    responseMeta: ({ paths, errors }) => (errors.length > 0 ? {} : { status: successStatusOf(paths?.[0]) }),
    onError: ({ error, req }) => {
      const state = stateOf(req);
      state.error = handleError(error, state.context);
    },
  });

  const routeOf = restRouteMatcher();

  return async (request: Request, context: Context): Promise<Response> => {
    // Built once per call: trpc-to-openapi reads `url` several times.
    const parsed = new URL(request.url);
    const pathname = parsed.pathname;
    parsed.pathname = pathname.slice(REST_PREFIX.length) || '/';
    const url = parsed.toString();
    let body: unknown;
    let requestHeaders: Headers | undefined;
    // An unknown route is left to trpc-to-openapi, which answers 404 without reading a body.
    if (!NO_BODY.has(request.method) && routeOf(request.method, parsed.pathname)) {
      // A request with no body at all (a generated client's call of a bodyless POST such as
      // `/webhooks/{id}/ping`) has nothing to refuse: it is read as no input.
      const refusal = hasNoBody(request) ? undefined : jsonBodyRefusal(request);
      if (refusal) return errorResponse(handleError(refusal, context), pathname);
      // trpc-to-openapi compares the header as sent with a lower-case `application/json`.
      if (!request.headers.get('content-type')?.startsWith('application/json')) {
        requestHeaders = new Headers(request.headers);
        requestHeaders.set('content-type', 'application/json');
      }
      const text = await request.text();
      if (text.trim() !== '') {
        try {
          body = JSON.parse(text);
        } catch {
          return errorResponse(
            handleError(new EdgeError(400, 'PARSE_ERROR', 'Malformed JSON body'), context),
            pathname,
          );
        }
      }
    }
    const state: CallState = { context };
    const proxied = new Proxy(request, {
      get: (target, property) => {
        if (property === 'url') return url;
        if (property === 'body') return body;
        if (property === 'headers' && requestHeaders) return requestHeaders;
        if (property === REQUEST) return state;
        return Reflect.get(target, property, target);
      },
    });

    return new Promise<Response>((resolve, reject) => {
      const headers = new Headers();
      let statusCode = 200;
      const response = {
        setHeader: (key: string, value: string | readonly string[]) => {
          if (typeof value === 'string') headers.set(key, value);
          else for (const item of value) headers.append(key, item);
        },
        get statusCode() {
          return statusCode;
        },
        set statusCode(code: number) {
          statusCode = code;
        },
        end: (text?: string) => {
          if (state.error) resolve(errorResponse(state.error, pathname));
          else resolve(new Response(statusCode === 204 ? null : (text ?? null), { status: statusCode, headers }));
        },
      } as unknown as ServerResponse;
      (handler as (req: unknown, res: ServerResponse) => Promise<void>)(proxied, response).catch(reject);
    });
  };
}
