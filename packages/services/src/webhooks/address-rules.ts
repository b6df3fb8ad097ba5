import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** A parsed address; ipaddr.js does the parsing and the range matching. */
export type Address = ipaddr.IPv4 | ipaddr.IPv6;
export type AddressRange = [Address, number];

const range = (cidr: string): AddressRange => ipaddr.parseCIDR(cidr);

export const inRange = (address: Address, [network, bits]: AddressRange) =>
  address.kind() === network.kind() && address.match(network, bits);

/** Cloud metadata endpoints: checked first, as some sit inside link-local or private ranges. */
const METADATA = ['169.254.169.254/32', '169.254.170.2/32', '100.100.100.200/32', 'fd00:ec2::254/128'].map(range);

/** Ranges no webhook may reach, each with the word a refusal uses. */
const FORBIDDEN: [label: string, range: AddressRange][] = (
  [
    ['unspecified', '0.0.0.0/8'],
    ['private', '10.0.0.0/8'],
    ['shared (carrier-grade NAT)', '100.64.0.0/10'],
    ['loopback', '127.0.0.0/8'],
    ['link-local', '169.254.0.0/16'],
    ['private', '172.16.0.0/12'],
    ['reserved', '192.0.0.0/24'],
    ['private', '192.168.0.0/16'],
    ['reserved', '198.18.0.0/15'],
    ['multicast', '224.0.0.0/4'],
    ['reserved', '240.0.0.0/4'],
    ['unspecified', '::/128'],
    ['loopback', '::1/128'],
    ['private', 'fc00::/7'],
    ['link-local', 'fe80::/10'],
    ['site-local', 'fec0::/10'],
    ['multicast', 'ff00::/8'],
    // RFC 8215 local-use NAT64: where its IPv4 sits depends on the operator's prefix length.
    ['local-use NAT64', '64:ff9b:1::/48'],
  ] as const
).map(([label, cidr]) => [label, range(cidr)]);

/**
 * IPv6 ranges that carry an IPv4 address, and the byte offset where it starts: mapped
 * (`::ffff:a.b.c.d`), translated (`::ffff:0:a.b.c.d`, RFC 6145), NAT64 well-known prefix,
 * the deprecated compatible form (`::a.b.c.d`), and 6to4 (`2002:AABB:CCDD::`).
 */
const CARRIERS: [range: AddressRange, offset: number][] = [
  [range('::ffff:0:0/96'), 12],
  [range('::ffff:0:0:0/96'), 12],
  [range('64:ff9b::/96'), 12],
  [range('::/96'), 12],
  [range('2002::/16'), 2],
];

/** A literal IP address (strict: `127.1` or `0x7f.1` are not), parsed; else null. */
export function parseAddress(text: string): Address | null {
  return isIP(text) ? ipaddr.parse(text) : null;
}

/** The IPv4 address an IPv6 address carries (mapped, translated, compatible, NAT64, 6to4), if any. */
export function carriedIPv4(address: Address): ipaddr.IPv4 | null {
  if (address.kind() !== 'ipv6') return null;
  const carrier = CARRIERS.find(([carrierRange]) => inRange(address, carrierRange));
  if (!carrier) return null;
  const offset = carrier[1];
  return ipaddr.fromByteArray(address.toByteArray().slice(offset, offset + 4)) as ipaddr.IPv4;
}

function kindOf(address: Address): string | null {
  if (METADATA.some((metadata) => inRange(address, metadata))) return 'metadata';
  const own = FORBIDDEN.find(([, forbidden]) => inRange(address, forbidden));
  if (own) return own[0];
  const carried = carriedIPv4(address);
  return carried ? kindOf(carried) : null;
}

/** Why an address may not be called (`loopback`, `private` …, `invalid`), or null when it is public. */
export function forbiddenAddressKind(text: string): string | null {
  const address = parseAddress(text);
  return address ? kindOf(address) : 'invalid';
}

/** The address, or the IPv4 address it carries, lies in one of `ranges`. */
export function withinRanges(address: Address, ranges: readonly AddressRange[]): boolean {
  const carried = carriedIPv4(address);
  return ranges.some((allowed) => inRange(address, allowed) || (carried !== null && inRange(carried, allowed)));
}
