import { z } from 'zod';

/** Opaque identifier (a UUID today; clients must not rely on its shape). */
export const idSchema = z.uuid({ message: 'expected an id' }).meta({ example: '0b9f5c2e-4a7d-4d8e-9a51-3f0c2d1e7b6a' });

export const isoDateTime = z.iso.datetime({ offset: true }).meta({ example: '2026-11-24T09:30:00.000Z' });

export const pageQuery = {
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(100).default(20),
};

export const paginated = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    total: z.number().int(),
    page: z.number().int(),
    pageSize: z.number().int(),
  });

export type Page<T> = { items: T[]; total: number; page: number; pageSize: number };

const BOOLEAN_WORDS: Record<string, boolean> = { true: true, '1': true, false: false, '0': false };

/**
 * A boolean that also accepts `true`/`false`/`1`/`0` from a query string. (The REST
 * adapter coerces plain booleans with `Boolean()`, which would read "false" as true.)
 */
export const queryBoolean = z.preprocess(
  (value) => (typeof value === 'string' && value in BOOLEAN_WORDS ? BOOLEAN_WORDS[value] : value),
  z.boolean(),
);

export const okSchema = z.object({ ok: z.literal(true) });
