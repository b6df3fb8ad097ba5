import { type LookupAddress, type LookupOptions, lookup } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import type { AllowedHost, Config } from '@touch-crm/config';

/**
 * Where a webhook may point. Outside development (NODE_ENV production, and test) a URL whose
 * host is, or resolves to, a loopback, private, link-local, shared, multicast, reserved or cloud
 * metadata address is refused, unless WEBHOOK_ALLOWED_HOSTS names the host or a range holding the
 * address. Checked when a subscription is saved and again when each request connects (the
 * connection's own DNS answer is checked, so a name that changes after saving cannot slip by).
 */
export interface UrlPolicy {
  enforce: boolean;
  allowed: readonly AllowedHost[];
}

export const urlPolicyOf = (config: Pick<Config, 'NODE_ENV' | 'WEBHOOK_ALLOWED_HOSTS'>): UrlPolicy => ({
  enforce: config.NODE_ENV !== 'development',
  allowed: config.WEBHOOK_ALLOWED_HOSTS,
});

/** A refusal is final: retrying the same URL cannot help. */
export class RefusedAddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RefusedAddressError';
  }
}

const METADATA = new Set(['169.254.169.254', '169.254.170.2', '100.100.100.200', 'fd00:ec2::254']);
const METADATA_NAMES = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data']);

const RANGES: [label: string, address: string, prefix: number, family: 'ipv4' | 'ipv6'][] = [
  ['unspecified', '0.0.0.0', 8, 'ipv4'],
  ['private', '10.0.0.0', 8, 'ipv4'],
  ['shared (carrier-grade NAT)', '100.64.0.0', 10, 'ipv4'],
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['link-local', '169.254.0.0', 16, 'ipv4'],
  ['private', '172.16.0.0', 12, 'ipv4'],
  ['reserved', '192.0.0.0', 24, 'ipv4'],
  ['private', '192.168.0.0', 16, 'ipv4'],
  ['reserved', '198.18.0.0', 15, 'ipv4'],
  ['multicast', '224.0.0.0', 4, 'ipv4'],
  ['reserved', '240.0.0.0', 4, 'ipv4'],
  ['unspecified', '::', 128, 'ipv6'],
  ['loopback', '::1', 128, 'ipv6'],
  ['private', 'fc00::', 7, 'ipv6'],
  ['link-local', 'fe80::', 10, 'ipv6'],
  ['multicast', 'ff00::', 8, 'ipv6'],
];
const FORBIDDEN = RANGES.map(([label, address, prefix, family]) => {
  const list = new BlockList();
  list.addSubnet(address, prefix, family);
  return { label, list, family };
});

/** The eight 16-bit groups of an IPv6 address (with an optional trailing dotted IPv4). */
function ipv6Groups(address: string): number[] | null {
  let text = address.toLowerCase().split('%')[0] as string;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = (dotted[1] as string).split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -(dotted[1] as string).length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string) => (part ? part.split(':').map((group) => Number.parseInt(group, 16)) : []);
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  const groups = tail === undefined ? front : [...front, ...new Array(8 - front.length - back.length).fill(0), ...back];
  return groups.length === 8 && groups.every((group) => Number.isInteger(group) && group >= 0 && group <= 0xffff)
    ? groups
    : null;
}

const dottedOf = (high: number, low: number) => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;

/** The IPv4 address an IPv6 address carries (mapped, compatible, NAT64 or 6to4), if any. */
export function embeddedIPv4(address: string): string | null {
  const g = ipv6Groups(address);
  if (!g) return null;
  const [g0, g1, g2, g3, g4, g5, g6, g7] = g as [number, number, number, number, number, number, number, number];
  const zeroTo = (end: number) => g.slice(0, end).every((group) => group === 0);
  if (zeroTo(5) && g5 === 0xffff) return dottedOf(g6, g7);
  if (zeroTo(6) && (g6 !== 0 || g7 > 1)) return dottedOf(g6, g7);
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return dottedOf(g6, g7);
  if (g0 === 0x2002) return dottedOf(g1, g2);
  return null;
}

/** Why an address may not be called (`loopback`, `private` …), or null when it is public. */
export function forbiddenAddressKind(address: string): string | null {
  const family = isIP(address);
  if (family === 0) return 'invalid';
  if (family === 6) {
    const inner = embeddedIPv4(address);
    if (inner) return forbiddenAddressKind(inner);
  }
  const normal = family === 6 ? (ipv6Groups(address) ?? []).map((group) => group.toString(16)).join(':') : address;
  if (METADATA.has(address.toLowerCase()) || (family === 6 && normal === 'fd00:ec2:0:0:0:0:0:254')) return 'metadata';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  return FORBIDDEN.find((rule) => rule.family === type && rule.list.check(address, type))?.label ?? null;
}

const rangeLists = new WeakMap<readonly AllowedHost[], BlockList>();
function allowedRanges(allowed: readonly AllowedHost[]): BlockList {
  let list = rangeLists.get(allowed);
  if (!list) {
    list = new BlockList();
    for (const entry of allowed)
      if (entry.kind === 'range') list.addSubnet(entry.address, entry.prefix, entry.family === 4 ? 'ipv4' : 'ipv6');
    rangeLists.set(allowed, list);
  }
  return list;
}

/** `[::1]` → `::1`; `Example.COM.` → `example.com`. */
export const bareHost = (hostname: string) =>
  hostname
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '')
    .toLowerCase();

/** WEBHOOK_ALLOWED_HOSTS names this host (and port), so its addresses are not checked. */
export function hostAllowed(policy: UrlPolicy, host: string, port: number): boolean {
  const name = bareHost(host);
  return policy.allowed.some(
    (entry) => entry.kind === 'host' && entry.host === name && (entry.port === null || entry.port === port),
  );
}

/** The reason an address may not be called under the policy, or null. */
export function refusalOf(policy: UrlPolicy, address: string): string | null {
  if (!policy.enforce) return null;
  const kind = forbiddenAddressKind(address);
  if (!kind) return null;
  const family = isIP(address);
  if (family && allowedRanges(policy.allowed).check(address, family === 4 ? 'ipv4' : 'ipv6')) return null;
  if (family === 6) {
    const inner = embeddedIPv4(address);
    if (inner && allowedRanges(policy.allowed).check(inner, 'ipv4')) return null;
  }
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
  if (!policy.enforce) return null;
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
