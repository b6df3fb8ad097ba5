import { hash, verify } from '@node-rs/argon2';

/** argon2id (the library's default algorithm) at OWASP's minimum: m = 19 MiB, t = 2, p = 1. */
const options = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (password: string) => hash(password, options);

export const verifyPassword = (passwordHash: string, password: string) =>
  verify(passwordHash, password).catch(() => false);
