import type { EventPage, ListEventsInput } from '@touch-crm/contract';
import { type SQL, sql } from 'drizzle-orm';
import type { Caller } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { ValidationError } from '../errors.ts';

interface FeedRow extends Record<string, unknown> {
  id: string;
  type: string;
  occurred_at: Date | string;
  data: Record<string, unknown>;
  cursor: string;
}

/** `types` as SQL: exact names, `resource.*` prefixes and `*`; none given is every type. */
function typeCondition(types: readonly string[] | undefined): SQL {
  if (!types || types.includes('*')) return sql`true`;
  const exact = types.filter((type) => !type.endsWith('.*'));
  const resources = types.filter((type) => type.endsWith('.*')).map((type) => type.slice(0, -2));
  // One text parameter each (drizzle would spread an array into a list); names never hold commas.
  const list = (items: string[]) => sql`string_to_array(${items.join(',')}, ',')`;
  return sql`(e.type = any(${list(exact)}) or split_part(e.type, '.', 1) = any(${list(resources)}))`;
}

/**
 * The event feed: the domain events after `after`, in the order of (writing transaction id,
 * insert sequence), with the bodies webhooks deliver. Only events of transactions below the
 * oldest transaction still running (`pg_snapshot_xmin`) are shown: every one of those has
 * committed or rolled back, and any transaction that commits later has a higher id, so it can
 * never land behind a cursor a client already holds. Changes to subscriptions (`webhook.*`) are
 * never shown, as they are never delivered. An `own` scope shows only events of own customers.
 */
export async function listEvents(deps: ServiceDeps, { scope }: Caller, input: ListEventsInput): Promise<EventPage> {
  const [txId, seq] = input.after ? input.after.split('.') : [];
  const rows = await deps.db.execute<FeedRow>(sql`
    select e.id, e.type, e.occurred_at, e.data, e.tx_id::text || '.' || e.seq as cursor
      from domain_events e
     where e.tx_id < pg_snapshot_xmin(pg_current_snapshot())
       and e.type not like 'webhook.%'
       and ${input.after ? sql`(e.tx_id, e.seq) > (${txId}::xid8, ${seq}::bigint)` : sql`true`}
       and ${typeCondition(input.types)}
       and ${
         scope.kind === 'own'
           ? sql`exists (select 1 from customers c where c.id = e.customer_id and c.owner_id = ${scope.userId})`
           : sql`true`
       }
     order by e.tx_id, e.seq
     limit ${input.limit}`);
  const items = rows.map((row) => ({
    id: row.id,
    type: row.type,
    occurredAt: new Date(row.occurred_at).toISOString(),
    data: row.data,
  }));
  if (rows.length === 0 && input.after) await assertFeedPosition(deps, txId as string, seq as string);
  return { items, nextCursor: rows.at(-1)?.cursor ?? input.after ?? null };
}

/**
 * A cursor names the last event the feed gave, and events are never deleted: with none at or past
 * it, it is not one the feed gave (made up, or kept from before a database restore) and polling it
 * would never show another event. Checked only for an empty answer, with one probe of the feed index.
 */
async function assertFeedPosition(deps: ServiceDeps, txId: string, seq: string) {
  const [row] = await deps.db.execute<{ known: boolean }>(sql`
    select exists (select 1 from domain_events e where (e.tx_id, e.seq) >= (${txId}::xid8, ${seq}::bigint)) as known`);
  if (!row?.known)
    throw ValidationError.field(
      'after',
      'is past the newest event: not a cursor from this feed (after a database restore, read again without `after`)',
    );
}
