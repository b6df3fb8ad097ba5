import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '@touch-crm/config';
import { errors, jwtVerify, SignJWT } from 'jose';
import { LRUCache } from 'lru-cache';
import { UnauthorizedError } from '../errors.ts';

const ALGORITHM = 'HS256';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface TokenClaims {
  userId: string;
  tokenVersion: number;
}

/**
 * `JWT_SECRET` when set (required in production). In development a random secret is
 * generated once and kept under the data folder, so tokens survive restarts.
 */
export async function resolveJwtKey(config: Config): Promise<Uint8Array> {
  if (config.JWT_SECRET) return new TextEncoder().encode(config.JWT_SECRET);
  const file = join(config.DATA_DIR, 'jwt-secret');
  let secret = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (!secret) {
    secret = randomBytes(48).toString('base64url');
    await mkdir(config.DATA_DIR, { recursive: true });
    await writeFile(file, secret, { mode: 0o600 });
  }
  return new TextEncoder().encode(secret);
}

export async function issueToken(
  key: Uint8Array,
  config: Pick<Config, 'JWT_ISSUER' | 'JWT_AUDIENCE' | 'JWT_TTL'>,
  claims: TokenClaims,
  now: Date,
): Promise<{ token: string; expiresAt: Date }> {
  const issuedAt = Math.floor(now.getTime() / 1000);
  const expiresAt = new Date((issuedAt + config.JWT_TTL) * 1000);
  const token = await new SignJWT({ ver: claims.tokenVersion })
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setSubject(claims.userId)
    .setIssuer(config.JWT_ISSUER)
    .setAudience(config.JWT_AUDIENCE)
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAt)
    .setJti(randomBytes(9).toString('base64url'))
    .sign(key);
  return { token, expiresAt };
}

/** Verifies signature, algorithm, issuer, audience and expiry; anything else is a 401. */
export async function verifyToken(
  key: Uint8Array,
  config: Pick<Config, 'JWT_ISSUER' | 'JWT_AUDIENCE'>,
  token: string,
  now: Date,
): Promise<VerifiedToken> {
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: [ALGORITHM],
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      currentDate: now,
      requiredClaims: ['sub', 'iat', 'exp'],
    });
    if (typeof payload.sub !== 'string' || !UUID.test(payload.sub) || typeof payload.ver !== 'number')
      throw new UnauthorizedError('Invalid token');
    return { userId: payload.sub, tokenVersion: payload.ver, exp: payload.exp as number };
  } catch (error) {
    if (error instanceof errors.JWTExpired) throw new UnauthorizedError('Token expired');
    throw new UnauthorizedError('Invalid token');
  }
}

/** A verified token's claims and its expiry (seconds since the epoch). */
interface VerifiedToken extends TokenClaims {
  exp: number;
}

/** Tokens whose signature was checked, so a repeated token costs no HMAC; one per API process. */
export type VerifiedTokens = LRUCache<string, VerifiedToken>;

export const createVerifiedTokens = (max = 10_000): VerifiedTokens => new LRUCache({ max });

/**
 * `verifyToken`, remembering tokens that passed: a signature, issuer and audience never change,
 * so a token seen before is only checked for expiry (as jose does: expired once `exp` is reached).
 * What the token says is still checked against the user row on every request.
 */
export async function verifyTokenCached(
  cache: VerifiedTokens,
  key: Uint8Array,
  config: Pick<Config, 'JWT_ISSUER' | 'JWT_AUDIENCE'>,
  token: string,
  now: Date,
): Promise<TokenClaims> {
  const seconds = Math.floor(now.getTime() / 1000);
  const known = cache.get(token);
  if (known) {
    if (known.exp <= seconds) {
      cache.delete(token);
      throw new UnauthorizedError('Token expired');
    }
    return { userId: known.userId, tokenVersion: known.tokenVersion };
  }
  const verified = await verifyToken(key, config, token, now);
  cache.set(token, verified);
  return { userId: verified.userId, tokenVersion: verified.tokenVersion };
}
