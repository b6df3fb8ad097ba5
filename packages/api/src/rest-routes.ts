import { appRouter } from './app-router.ts';
import type { Meta } from './trpc.ts';

/** A REST mirror route: its procedure's tRPC path and meta. */
export interface RestRoute {
  procedure: string;
  meta: Meta;
}

/**
 * Which procedure the REST mirror runs for a method and path (below REST_PREFIX), matched as
 * trpc-to-openapi matches it (core.js, procedures.js): slashes trimmed at both ends, path
 * parameters one segment each, case-insensitive, the first route in router order wins. The edge
 * needs it before trpc-to-openapi runs: to refuse a body that is not JSON, and to know an answer
 * carries a secret.
 */
export function restRouteMatcher(): (method: string, path: string) => RestRoute | undefined {
  const procedures = appRouter._def.procedures as unknown as Record<string, { _def: { meta?: Meta } }>;
  const routes = Object.entries(procedures).flatMap(([procedure, { _def }]) => {
    const openapi = _def.meta?.openapi;
    if (!_def.meta || !openapi || openapi.enabled === false) return [];
    const pattern = normalizePath(openapi.path).replace(/\{(.+?)\}/g, '[^/]+');
    return [{ method: openapi.method, pattern: new RegExp(`^${pattern}$`, 'i'), procedure, meta: _def.meta }];
  });
  return (method, path) => {
    const normalized = normalizePath(path);
    const route = routes.find((candidate) => candidate.method === method && candidate.pattern.test(normalized));
    return route && { procedure: route.procedure, meta: route.meta };
  };
}

const normalizePath = (path: string) => `/${path.replace(/^\/|\/$/g, '')}`;
