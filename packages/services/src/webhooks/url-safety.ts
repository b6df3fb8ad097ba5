import { type LookupAddress, type LookupOptions, lookup } from 'node:dns';
import { isIP } from 'node:net';
import type { Config } from '@touch-crm/config';
import { type AddressRange, forbiddenAddressKind, parseAddress, withinRanges } from './address-rules.ts';

/**
 * Where a webhook may point, in every environment: a URL whose host is, or resolves to, a
 * loopback, private, link-local, site-local, shared, multicast, reserved or cloud metadata
 * address is refused, unless WEBHOOK_ALLOWED_HOSTS names the host (and port) or a range holding
 * the address. Checked when a subscription is saved and again when each request connects (the
 * connection's own DNS answer is checked, so a name that changes after saving cannot slip by).
 */
export interface UrlPolicy {
  hosts: readonly { host: string; port: number | null }[];
  ranges: readonly AddressRange[];
}

export function urlPolicyOf(config: Pick<Config, 'WEBHOOK_ALLOWED_HOSTS'>): UrlPolicy {
  const hosts: UrlPolicy['hosts'][number][] = [];
  const ranges: AddressRange[] = [];
  for (const entry of config.WEBHOOK_ALLOWED_HOSTS) {
    if (entry.kind === 'host') hosts.push({ host: entry.host, port: entry.port });
    else ranges.push([parseAddress(entry.address) as AddressRange[0], entry.prefix]);
  }
  return { hosts, ranges };
}

/** A refusal is final: retrying the same URL cannot help. */
export class RefusedAddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RefusedAddressError';
  }
}

const METADATA_NAMES = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data']);

/** `[::1]` → `::1`; `Example.COM.` → `example.com`. */
export const bareHost = (hostname: string) =>
  hostname
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '')
    .toLowerCase();

/** WEBHOOK_ALLOWED_HOSTS names this host (and port), so its addresses are not checked. */
export function hostAllowed(policy: UrlPolicy, host: string, port: number): boolean {
  const name = bareHost(host);
  return policy.hosts.some((entry) => entry.host === name && (entry.port === null || entry.port === port));
}

/** The reason an address may not be called under the policy, or null. */
export function refusalOf(policy: UrlPolicy, address: string): string | null {
  const kind = forbiddenAddressKind(address);
  if (!kind) return null;
  const parsed = parseAddress(address);
  if (parsed && withinRanges(parsed, policy.ranges)) return null;
  return kind === 'invalid' ? `${address} is not an address` : `${address} is a ${kind} address`;
}

export const portOf = (url: URL) => Number(url.port || (url.protocol === 'https:' ? 443 : 80));

function resolveAll(host: string, timeoutMs: number): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('DNS lookup timed out')), timeoutMs);
    lookup(host, { all: true, verbatim: true }, (error, addresses) => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(addresses);
    });
  });
}

/**
 * The save-time check: null when the URL may be used, else why not (the 400's message on `url`).
 * Names are resolved; every address they resolve to must pass.
 */
export async function webhookUrlRefusal(policy: UrlPolicy, raw: string): Promise<string | null> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'expected an http or https URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'expected an http or https URL';
  if (url.username || url.password)
    return 'must not hold a user name or password (user:pw@host): receivers authenticate requests by their signature';
  const host = bareHost(url.hostname);
  if (hostAllowed(policy, host, portOf(url))) return null;
  if (isIP(host)) {
    const refusal = refusalOf(policy, host);
    return refusal ? `refused: ${refusal}` : null;
  }
  if (host === 'localhost' || host.endsWith('.localhost')) return `refused: ${host} is a loopback name`;
  if (METADATA_NAMES.has(host)) return `refused: ${host} is a cloud metadata name`;
  let addresses: LookupAddress[];
  try {
    addresses = await resolveAll(host, 5_000);
  } catch {
    return `refused: ${host} does not resolve`;
  }
  for (const { address } of addresses) {
    const refusal = refusalOf(policy, address);
    if (refusal) return `refused: ${host} resolves to ${refusal}`;
  }
  return null;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http.request that refuses forbidden addresses: the check runs on the very
 * answer the connection uses, so DNS that changes between save and delivery (or between two
 * lookups: rebinding) cannot reach an internal address. IP-literal hosts never reach a lookup;
 * `checkLiteralHost` covers them.
 */
export function guardedLookup(policy: UrlPolicy, allowedByName: boolean) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback) => {
    lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      if (!allowedByName)
        for (const { address } of addresses) {
          const refusal = refusalOf(policy, address);
          if (refusal) return callback(new RefusedAddressError(`refused: ${hostname} resolves to ${refusal}`), []);
        }
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      if (options.all) callback(null, addresses);
      else callback(null, first.address, first.family);
    });
  };
}

/**
 * The URL as it may be shown: any user name and password replaced by `***`. New URLs with
 * credentials are refused; this covers subscriptions saved before that rule.
 */
export function withoutCredentials(raw: string): string {
  if (!URL.canParse(raw)) return raw;
  const url = new URL(raw);
  if (!url.username && !url.password) return raw;
  url.username = '***';
  url.password = url.password ? '***' : '';
  return url.href;
}
