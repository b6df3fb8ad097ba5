import { procedureMetas } from '../app-router.ts';
import { TRPC_ENDPOINT } from '../http-error.ts';
import { REST_PREFIX } from '../openapi-document.ts';
import { restRouteMatcher } from '../rest-routes.ts';

/**
 * Whether a request runs a procedure whose answer carries a one-time secret or a credential (meta
 * `secretResponse`: a new API key, a webhook's signing secret, a sign-in token). Such an answer
 * is never stored, so Idempotency-Key is ignored there (docs/api-conventions.md). A tRPC batch
 * naming one such procedure counts whole, as its key would cover the whole batch.
 */
export function secretResponseMatcher(): (request: Request) => boolean {
  const secret = new Set(procedureMetas().flatMap(([name, meta]) => (meta?.secretResponse ? [name] : [])));
  const restRoute = restRouteMatcher();
  return (request) => {
    const path = new URL(request.url).pathname;
    if (path.startsWith(`${TRPC_ENDPOINT}/`))
      return trpcPaths(path.slice(TRPC_ENDPOINT.length)).some((name) => secret.has(name));
    if (path.startsWith(`${REST_PREFIX}/`))
      return restRoute(request.method, path.slice(REST_PREFIX.length))?.secretResponse === true;
    return false;
  };
}

/** The procedures a tRPC URL path names, read as tRPC reads it (slashes trimmed, decoded, comma-separated in a batch). */
function trpcPaths(path: string): string[] {
  try {
    return decodeURIComponent(path.replace(/^\/+|\/+$/g, '')).split(',');
  } catch {
    return []; // tRPC refuses the path with 400: nothing runs, nothing is stored
  }
}
