import {
  createTRPCClient,
  type HTTPBatchLinkOptions,
  type HTTPHeaders,
  httpBatchLink,
  type TRPCClient,
} from '@trpc/client';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from './app-router.ts';
import { TRPC_MAX_BATCH_ITEMS } from './limits.ts';

export type { AppRouter } from './app-router.ts';
export {
  isTouchError,
  isTouchProblem,
  type TouchClientError,
  type TouchErrorCode,
  type TouchErrorData,
  type TouchErrorReason,
  type TouchFieldIssue,
  type TouchProblem,
} from './errors.ts';
export { TRPC_MAX_BATCH_ITEMS } from './limits.ts';

/** Every procedure's input, by path: `RouterInputs['users']['list']`. */
export type RouterInputs = inferRouterInputs<AppRouter>;
/** Every procedure's output, by path, as JSON brings it (dates are ISO strings). */
export type RouterOutputs = inferRouterOutputs<AppRouter>;

type MaybePromise<T> = T | Promise<T>;

export interface TouchClientOptions {
  /** The API's base URL, e.g. `https://crm.example.com`; calls go to `${url}/trpc`. */
  url: string;
  /** A bearer token from `auth.login`, sent with every call. */
  token?: string;
  /** Asked before every request (batch) for the current token; wins over `token`. */
  getToken?: () => MaybePromise<string | null | undefined>;
  /** A `fetch` to use instead of the global one (tests, older runtimes, proxies). */
  fetch?: HTTPBatchLinkOptions<AppRouter['_def']['_config']['$types']>['fetch'];
  /** Extra headers for every request, or a function returning them. */
  headers?: HTTPHeaders | (() => MaybePromise<HTTPHeaders>);
}

export type TouchClient = TRPCClient<AppRouter>;

/**
 * A client for every procedure of the Touch CRM API, batching calls made in the same tick, at most
 * TRPC_MAX_BATCH_ITEMS per request (the server refuses larger batches).
 */
export function createTouchClient(options: TouchClientOptions): TouchClient {
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: `${options.url.replace(/\/+$/, '')}/trpc`,
        maxItems: TRPC_MAX_BATCH_ITEMS,
        fetch: options.fetch,
        headers: async () => {
          const extra = typeof options.headers === 'function' ? await options.headers() : options.headers;
          const token = (options.getToken ? await options.getToken() : undefined) ?? options.token;
          return token ? { ...extra, authorization: `Bearer ${token}` } : { ...extra };
        },
      }),
    ],
  });
}
