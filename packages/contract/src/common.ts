import { z } from 'zod';

/** Opaque identifier (a UUID today; clients must not rely on its shape). */
export const idSchema = z.uuid({ message: 'expected an id' }).meta({ example: '0b9f5c2e-4a7d-4d8e-9a51-3f0c2d1e7b6a' });

/**
 * Text PostgreSQL can store: no NUL character (text and jsonb refuse it) and no unpaired UTF-16
 * surrogate (not encodable as UTF-8). Every text input starts from this schema, so such a value is
 * a 400 naming the field rather than a failed query.
 */
export const safeString = z.string().refine((value) => value.isWellFormed() && !value.includes('\0'), {
  message: 'must not contain NUL characters or unpaired surrogates',
});

/** Years PostgreSQL and JavaScript both read and write as four-digit ISO dates. */
const EARLIEST = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');
/** PostgreSQL refuses a time-zone displacement beyond ±15:59. */
const OFFSET_LIMIT_MINUTES = 15 * 60 + 59;

function offsetMinutes(value: string): number {
  const match = /([+-])(\d{2}):(\d{2})$/.exec(value);
  return match ? Number(match[2]) * 60 + Number(match[3]) : 0;
}

/** An ISO 8601 date-time with an offset, between years 0001 and 9999 once the offset is applied. */
export const isoDateTime = z.iso
  .datetime({ offset: true })
  .refine(
    (value) => {
      const time = Date.parse(value);
      if (Number.isNaN(time)) return true; // not a date-time at all: the format check reports it
      return time >= EARLIEST && time <= LATEST && offsetMinutes(value) <= OFFSET_LIMIT_MINUTES;
    },
    { message: 'must lie between years 0001 and 9999 (UTC), with an offset of at most ±15:59', abort: true },
  )
  .meta({ example: '2026-11-24T09:30:00.000Z' });

/** A calendar day without time or zone, `YYYY-MM-DD`, from 0001-01-01 (PostgreSQL has no year 0). */
export const calendarDate = z.iso
  .date({ message: 'expected a date as YYYY-MM-DD' })
  .refine((value) => !value.startsWith('0000'), { message: 'must lie between years 0001 and 9999', abort: true })
  .meta({ example: '2026-12-01' });

/**
 * A number a REST query string may spell as text (`?pageSize=10`). Only the REST mirror needs the
 * coercion; typing the input as `number` keeps `pageSize: 'ten'` a type error for typed clients.
 */
export const queryNumber = () => z.coerce.number<number>();

export const pageQuery = {
  page: queryNumber().int().min(1).default(1),
  pageSize: queryNumber().int().min(1).max(100).default(20),
};

export const paginated = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    total: z.number().int(),
    page: z.number().int(),
    pageSize: z.number().int(),
  });

export type Page<T> = { items: T[]; total: number; page: number; pageSize: number };

/**
 * Where an incremental sync stands: after the row last served, by `(updatedAt, id)`. Opaque to
 * clients (base64url of `[updatedAt, id, tag]`); `btoa`/`atob` so the client bundle needs no Buffer.
 */
export interface SyncPosition {
  updatedAt: string;
  id: string;
}

/**
 * A cursor's parts. `tag` is the server's signature over the list and the position (checked by the
 * services, which hold the key); a cursor issued before cursors were signed has none.
 */
export interface SyncCursor extends SyncPosition {
  tag?: string | undefined;
}

/** A tag: 16 bytes of HMAC-SHA256 in base64url. */
const CURSOR_TAG = /^[A-Za-z0-9_-]{22}$/;

const cursorSchema = z.union([
  z.tuple([z.iso.datetime({ offset: true }), z.uuid(), z.string().regex(CURSOR_TAG)]),
  z.tuple([z.iso.datetime({ offset: true }), z.uuid()]),
]);

export function encodeCursor(cursor: SyncCursor): string {
  const parts = cursor.tag === undefined ? [cursor.updatedAt, cursor.id] : [cursor.updatedAt, cursor.id, cursor.tag];
  return btoa(JSON.stringify(parts)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * The parts a cursor holds, or undefined when it is not shaped like one this server issues. Only
 * the exact text `encodeCursor` gives is one: base64 and JSON have other spellings of the same value.
 */
export function decodeCursor(cursor: string): SyncCursor | undefined {
  try {
    const parsed = cursorSchema.safeParse(JSON.parse(atob(cursor.replace(/-/g, '+').replace(/_/g, '/'))));
    if (!parsed.success) return undefined;
    const [updatedAt, id, tag] = parsed.data;
    const decoded = { updatedAt, id, tag };
    return encodeCursor(decoded) === cursor ? decoded : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Incremental sync, beside page/pageSize: `updatedAfter` filters in both modes; `cursor` or
 * `limit` switch to cursor mode, ordered by `(updatedAt, id)`, where `sort`, `page` and `pageSize`
 * are ignored (docs/api-conventions.md).
 */
export const syncQuery = {
  updatedAfter: isoDateTime.optional().meta({ description: 'Only records changed after this instant (either mode)' }),
  cursor: z
    .string()
    .max(200)
    .refine((value) => decodeCursor(value) !== undefined, { message: 'is not a cursor this API issued' })
    .optional()
    .meta({ description: 'Cursor mode: continue after the `nextCursor` of an earlier answer' }),
  limit: queryNumber()
    .int()
    .min(1)
    .max(100)
    .optional()
    .meta({ description: 'Cursor mode: rows per answer (default 20)' }),
};

/** A list answer that can also continue a sync: `nextCursor` is set in cursor mode, null in page mode. */
export const syncPaginated = <T extends z.ZodType>(item: T) =>
  paginated(item).extend({
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: 'Cursor mode: pass it as `cursor` for what changed after the last item' }),
  });

export type SyncPage<T> = Page<T> & { nextCursor: string | null };

const BOOLEAN_WORDS: Record<string, boolean> = { true: true, '1': true, false: false, '0': false };

const readBooleanWord = (value: unknown): unknown =>
  typeof value === 'string' && value in BOOLEAN_WORDS ? BOOLEAN_WORDS[value] : value;

/**
 * A boolean that also accepts `true`/`false`/`1`/`0` from a query string. (The REST adapter
 * coerces plain booleans with `Boolean()`, which would read "false" as true.) The input type stays
 * `boolean`: the words are for the REST mirror, not for typed clients.
 */
export const queryBoolean = z.preprocess<unknown, z.ZodBoolean, boolean>(readBooleanWord, z.boolean());

export const okSchema = z.object({ ok: z.literal(true) });
