import { procedureMetas } from './app-router.ts';
import type { Meta } from './trpc.ts';

/**
 * The meta of the procedure the REST mirror runs for a method and path (below REST_PREFIX), matched as
 * trpc-to-openapi matches it (core.js, procedures.js): slashes trimmed at both ends, path
 * parameters one segment each, case-insensitive, the first route in router order wins. The edge
 * needs it before trpc-to-openapi runs: to refuse a body that is not JSON, and to know an answer
 * carries a secret.
 */
export function restRouteMatcher(): (method: string, path: string) => Meta | undefined {
  // By method, in router order: a body route's call scans only its own method's routes.
  const byMethod = new Map<string, { pattern: RegExp; meta: Meta }[]>();
  for (const [, meta] of procedureMetas()) {
    const openapi = meta?.openapi;
    if (!meta || !openapi || openapi.enabled === false) continue;
    const pattern = new RegExp(`^${normalizePath(openapi.path).replace(/\{(.+?)\}/g, '[^/]+')}$`, 'i');
    const routes = byMethod.get(openapi.method) ?? [];
    routes.push({ pattern, meta });
    byMethod.set(openapi.method, routes);
  }
  return (method, path) => {
    const normalized = normalizePath(path);
    return byMethod.get(method)?.find(({ pattern }) => pattern.test(normalized))?.meta;
  };
}

const normalizePath = (path: string) => `/${path.replace(/^\/|\/$/g, '')}`;
