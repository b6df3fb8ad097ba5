import { z } from 'zod';
import { idSchema, isoDateTime, queryNumber } from './common.ts';
import { WEBHOOK_EVENT_TYPES } from './webhooks.ts';

const eventPrefixes: ReadonlySet<string> = new Set(WEBHOOK_EVENT_TYPES.map((type) => type.split('.')[0] as string));
const eventTypes: ReadonlySet<string> = new Set(WEBHOOK_EVENT_TYPES);

/** One item of `types`: an event type (`order.placed`), every type of a resource (`order.*`), or `*`. */
const eventTypePattern = z
  .string()
  .trim()
  .refine(
    (value) =>
      value === '*' || eventTypes.has(value) || (value.endsWith('.*') && eventPrefixes.has(value.slice(0, -2))),
    { message: 'unknown event type or pattern (an event type, `resource.*` or `*`; see docs/webhooks.md)' },
  );

/** The feed's position: opaque to clients (today the writing transaction's id and the row's sequence). */
const NOT_A_CURSOR = 'not a cursor from this feed (use `nextCursor`)';
const CURSOR = /^\d{1,20}\.\d{1,19}$/;
const fitsCursor = (value: string) => {
  if (!CURSOR.test(value)) return true; // the regex check reports it
  const [txId = '', seq = ''] = value.split('.');
  // xid8 is unsigned 64-bit, the sequence a bigint: larger numbers would fail in PostgreSQL.
  return BigInt(txId) < 2n ** 64n && BigInt(seq) < 2n ** 63n;
};
export const eventCursorSchema = z
  .string()
  .regex(CURSOR, { message: NOT_A_CURSOR })
  .refine(fitsCursor, { message: NOT_A_CURSOR, abort: true })
  .meta({ example: '7961.1042' });

export const listEventsInput = z.object({
  /** Omitted: from the first event kept. */
  after: eventCursorSchema.optional(),
  /** Comma-separated: `customer.*,order.placed`. Omitted: every type. */
  types: z
    .string()
    .transform((value) => value.split(',').filter((item) => item.trim() !== ''))
    .pipe(z.array(eventTypePattern).min(1, { message: 'name at least one type' }).max(50))
    .optional()
    .meta({ example: 'customer.*,order.*' }),
  limit: queryNumber().int().min(1).max(1000).default(100),
});
export type ListEventsInput = z.infer<typeof listEventsInput>;

/** An event as a webhook delivery carries it: `{ id, type, occurredAt, data }`. */
export const feedEventSchema = z
  .object({
    id: idSchema,
    type: z.string().meta({ example: 'order.placed' }),
    occurredAt: isoDateTime,
    data: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'FeedEvent' });
export type FeedEvent = z.infer<typeof feedEventSchema>;

export const eventPageSchema = z.object({
  items: z.array(feedEventSchema),
  /** Pass as `after` for the next events; the same cursor again when there were none (poll with it). */
  nextCursor: eventCursorSchema.nullable(),
});
export type EventPage = z.infer<typeof eventPageSchema>;
