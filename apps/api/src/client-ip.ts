import { isIP } from 'node:net';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';

export interface ClientIpOptions {
  /** Whether a reverse proxy we run sits in front and appends to X-Forwarded-For. */
  trustProxy: boolean;
  /** How many trusted proxies append to X-Forwarded-For (TRUST_PROXY_HOPS). */
  hops: number;
}

function socketAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * The client address for throttling and logs. Behind trusted proxies, each one appends the
 * address it received the request from to X-Forwarded-For, so only the right-most `hops`
 * entries were written by us: the entry `hops` from the right is the client as our outermost
 * proxy saw it. Everything left of it is whatever the client sent, and is ignored. An entry
 * that is not an IP address (a malformed or tampered header) falls back to the socket address.
 */
export function clientIp(c: Context, options: ClientIpOptions): string {
  const socket = socketAddress(c);
  if (!options.trustProxy) return socket;
  const entries = (c.req.header('x-forwarded-for') ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const candidate = entries[entries.length - options.hops];
  return candidate && isIP(candidate) ? candidate : socket;
}
