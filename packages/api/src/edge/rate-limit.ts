import type { Config } from '@touch-crm/config';
import { REASON } from '@touch-crm/contract';
import { serializeList } from 'structured-headers';
import { EdgeError } from '../http-error.ts';
import { REST_PREFIX } from '../openapi-document.ts';
import type { RateLimitCount, RateLimitCounter } from './rate-limit-counter.ts';

/** A quota of its own for an endpoint that costs far more than a read (on top of `default`). */
interface ExpensivePolicy {
  name: string;
  quota: (config: Config) => number;
  matches: (method: string, path: string) => boolean;
}

/** tRPC's path is `/trpc/a.b` or, batched, `/trpc/a.b,c.d`. */
const callsProcedure = (path: string, procedure: string) =>
  path.startsWith('/trpc/') && path.slice('/trpc/'.length).split(',').includes(procedure);

const EXPENSIVE: readonly ExpensivePolicy[] = [
  {
    name: 'exports',
    quota: (config) => config.RATE_LIMIT_EXPORTS,
    matches: (method, path) => method === 'GET' && path.startsWith(REST_PREFIX) && path.endsWith('/export'),
  },
  {
    name: 'imports',
    quota: (config) => config.RATE_LIMIT_IMPORTS,
    matches: (method, path) => method === 'POST' && path === `${REST_PREFIX}/customers/import`,
  },
  {
    name: 'campaign-execute',
    quota: (config) => config.RATE_LIMIT_CAMPAIGN_EXECUTE,
    matches: (method, path) =>
      method === 'POST' &&
      (/^\/api\/v1\/campaigns\/[^/]+\/execute$/.test(path) || callsProcedure(path, 'campaigns.execute')),
  },
];

interface Policy {
  name: string;
  quota: number;
  bucket: string;
}

/**
 * The limits one request counts against: `default` (RATE_LIMIT_PER_PRINCIPAL per user or API key,
 * RATE_LIMIT_PER_IP per client IP without valid credentials) and, for a caller who is someone,
 * the quota of an expensive endpoint.
 */
function policiesOf(config: Config, principal: string | null, ip: string, method: string, path: string): Policy[] {
  if (!principal) return [{ name: 'default', quota: config.RATE_LIMIT_PER_IP, bucket: `ip:${ip}` }];
  const policies = [{ name: 'default', quota: config.RATE_LIMIT_PER_PRINCIPAL, bucket: principal }];
  for (const policy of EXPENSIVE)
    if (policy.matches(method, path))
      policies.push({ name: policy.name, quota: policy.quota(config), bucket: `${principal}|${policy.name}` });
  return policies;
}

export interface RateLimitDecision {
  /** `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers), for every answer. */
  headers: Record<string, string>;
  /** Set when a limit is passed: the 429 to answer instead of running the request. */
  refusal?: EdgeError;
}

/** `RateLimit-Policy` by its policies and window: the same few strings for every request. */
const policyHeaders = new Map<string, string>();

function policyHeaderOf(policies: Policy[], windowSeconds: number): string {
  const key = `${windowSeconds}|${policies.map((policy) => `${policy.name}=${policy.quota}`).join(',')}`;
  let header = policyHeaders.get(key);
  if (header === undefined) {
    header = serializeList(
      policies.map((policy) => [
        policy.name,
        new Map([
          ['q', policy.quota],
          ['w', windowSeconds],
        ]),
      ]),
    );
    policyHeaders.set(key, header);
  }
  return header;
}

/** The IETF draft's fields, as RFC 9651 structured lists: `"default";q=6000;w=60` and `"default";r=5999;t=42`. */
function headersOf(policies: Policy[], counts: RateLimitCount[], windowSeconds: number): Record<string, string> {
  return {
    'RateLimit-Policy': policyHeaderOf(policies, windowSeconds),
    RateLimit: serializeList(
      policies.map((policy, index) => [
        policy.name,
        new Map([
          ['r', counts[index]?.remaining ?? 0],
          ['t', counts[index]?.resetSeconds ?? windowSeconds],
        ]),
      ]),
    ),
  };
}

/** Counts the request against its limits and says whether it may run. */
export async function checkRateLimits(
  counter: RateLimitCounter,
  config: Config,
  request: { method: string; path: string; ip: string; principal: string | null },
): Promise<RateLimitDecision> {
  const policies = policiesOf(config, request.principal, request.ip, request.method, request.path);
  const counts = await counter.count(policies.map((policy) => ({ bucket: policy.bucket, limit: policy.quota })));
  const headers = headersOf(policies, counts, config.RATE_LIMIT_WINDOW);
  const exceeded = policies.filter((_, index) => counts[index]?.exceeded);
  if (exceeded.length === 0) return { headers };
  const retryAfter = Math.max(...counts.filter((count) => count.exceeded).map((count) => count.resetSeconds));
  const names = exceeded.map((policy) => `${policy.name} (${policy.quota} per ${config.RATE_LIMIT_WINDOW} s)`);
  return {
    headers,
    refusal: new EdgeError(
      429,
      'TOO_MANY_REQUESTS',
      `Rate limit exceeded: ${names.join(', ')}`,
      { 'Retry-After': String(retryAfter) },
      REASON.RATE_LIMITED,
    ),
  };
}
