import type { ServerResponse } from 'node:http';
import { type AppRouter, appRouter, type Context, REST_PREFIX, retryAfterOf } from '@touch-crm/api';
import type { TRPCError } from '@trpc/server';
import { createOpenApiNodeHttpHandler } from 'trpc-to-openapi';

const CONTEXT = Symbol('touch-crm.context');

type ErrorListener = (error: TRPCError, ctx: Context | undefined) => void;

/**
 * The REST mirror. trpc-to-openapi's fetch adapter rebuilds its whole handler (route
 * patterns, and outside production the OpenAPI document) on every request; this builds it
 * once and adapts each fetch Request to it, parsing the JSON body here so malformed JSON
 * is a clean 400.
 */
export function createRestHandler(options: { onError: ErrorListener }) {
  const handler = createOpenApiNodeHttpHandler<AppRouter, never, never>({
    router: appRouter,
    createContext: ({ req }) => (req as unknown as Record<symbol, Context>)[CONTEXT] as Context,
    responseMeta: ({ ctx, errors }) => {
      const error = errors[0];
      if (error) {
        const retryAfter = retryAfterOf(error);
        return retryAfter ? { headers: { 'Retry-After': String(retryAfter) } } : {};
      }
      return ctx?.response.status ? { status: ctx.response.status } : {};
    },
    onError: ({ error, ctx }) => options.onError(error, ctx as Context | undefined),
  });

  return async (request: Request, context: Context): Promise<Response> => {
    let body: unknown;
    if (request.method !== 'GET' && request.method !== 'DELETE' && request.method !== 'HEAD') {
      const text = await request.text();
      const isJson = request.headers.get('content-type')?.includes('application/json');
      if (isJson && text.trim() !== '') {
        try {
          body = JSON.parse(text);
        } catch {
          return Response.json(
            { message: 'Malformed JSON body', code: 'PARSE_ERROR', data: { requestId: context.requestId } },
            { status: 400 },
          );
        }
      }
    }
    const url = new URL(request.url);
    url.pathname = url.pathname.slice(REST_PREFIX.length) || '/';
    const proxied = new Proxy(request, {
      get: (target, property) => {
        if (property === 'url') return url.toString();
        if (property === 'body') return body;
        if (property === CONTEXT) return context;
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
        end: (text?: string) =>
          resolve(new Response(statusCode === 204 ? null : (text ?? null), { status: statusCode, headers })),
      } as unknown as ServerResponse;
      (handler as (req: unknown, res: ServerResponse) => Promise<void>)(proxied, response).catch(reject);
    });
  };
}
