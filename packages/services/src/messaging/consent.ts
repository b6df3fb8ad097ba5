import type { ConsentAction, ConsentEvent, ConsentSource, CustomerConsent } from '@touch-crm/contract';
import { type Executor, schema } from '@touch-crm/db';
import { and, asc, eq, type SQL, sql } from 'drizzle-orm';
import type { Actor, Caller } from '../actor.ts';
import { liveCustomer } from '../commerce/customers-read.ts';
import type { ServiceDeps } from '../deps.ts';
import { NotFoundError } from '../errors.ts';
import { at } from '../lib/sql.ts';
import { scopeWhere } from '../scope.ts';

const { consentEvents, customers } = schema;

/** One change of a customer's marketing consent, as the consent record keeps it. */
export interface ConsentChange {
  customerId: string;
  granted: boolean;
  source: ConsentSource;
  actor: Actor;
  evidence: Record<string, unknown>;
  occurredAt: Date;
}

export const consentAction = (granted: boolean): ConsentAction => (granted ? 'granted' : 'withdrawn');

/**
 * Appends marketing consent entries in one INSERT, on the caller's transaction (the one that
 * changes `sms_opt_in`), so the flag and its proof commit or vanish together.
 */
export async function recordConsent(tx: Executor, changes: readonly ConsentChange[]): Promise<void> {
  if (changes.length === 0) return;
  await tx.insert(consentEvents).values(
    changes.map((change) => ({
      customerId: change.customerId,
      purpose: 'marketing' as const,
      action: consentAction(change.granted),
      source: change.source,
      actorUserId: change.actor.kind === 'user' ? change.actor.userId : null,
      actorJob: change.actor.kind === 'job' ? change.actor.name : null,
      evidence: change.evidence,
      occurredAt: change.occurredAt,
    })),
  );
}

/**
 * The set-based form for batch writers (the CSV import): `rows` selects customer_id, granted
 * (boolean) and evidence (jsonb); one INSERT … SELECT however many rows.
 */
export async function recordConsentSet(
  tx: Executor,
  rows: SQL,
  source: ConsentSource,
  actor: Actor,
  occurredAt: Date,
): Promise<void> {
  await tx.execute(sql`
    insert into consent_events (customer_id, purpose, action, source, actor_user_id, actor_job, evidence, occurred_at)
    select r.customer_id, 'marketing',
           (case when r.granted then 'granted' else 'withdrawn' end)::consent_action, ${source}::consent_source,
           ${actor.kind === 'user' ? actor.userId : null}::uuid, ${actor.kind === 'job' ? actor.name : null}::text,
           r.evidence, ${at(occurredAt)}
      from (${rows}) r`);
}

/**
 * Sets a customer's marketing consent and appends its entry, in one statement on `tx`: nothing
 * is written when the consent already is what is asked (a second STOP is not a new withdrawal).
 * Returns whether it changed.
 */
export async function changeMarketingConsent(tx: Executor, change: ConsentChange): Promise<boolean> {
  const rows = await tx.execute<{ id: string }>(sql`
    with changed as (
      update customers set sms_opt_in = ${change.granted}, updated_at = ${at(change.occurredAt)}
       where id = ${change.customerId} and sms_opt_in <> ${change.granted}
      returning id)
    insert into consent_events (customer_id, purpose, action, source, actor_user_id, actor_job, evidence, occurred_at)
    select changed.id, 'marketing', ${consentAction(change.granted)}::consent_action, ${change.source}::consent_source,
           ${change.actor.kind === 'user' ? change.actor.userId : null}::uuid,
           ${change.actor.kind === 'job' ? change.actor.name : null}::text,
           ${JSON.stringify(change.evidence)}::jsonb, ${at(change.occurredAt)}
      from changed
    returning customer_id as id`);
  return rows.length > 0;
}

function toConsentEvent(row: typeof consentEvents.$inferSelect): ConsentEvent {
  return {
    id: row.id,
    customerId: row.customerId,
    purpose: row.purpose,
    action: row.action,
    source: row.source,
    actorUserId: row.actorUserId,
    actorJob: row.actorJob,
    evidence: row.evidence as Record<string, unknown>,
    occurredAt: row.occurredAt.toISOString(),
  };
}

/** A customer's consent history, oldest first, with the current marketing state and its source. */
export async function getCustomerConsent(
  deps: ServiceDeps,
  { scope }: Caller,
  { id: customerId }: { id: string },
): Promise<CustomerConsent> {
  const [customer] = await deps.db
    .select({ smsOptIn: customers.smsOptIn })
    .from(customers)
    .where(and(eq(customers.id, customerId), liveCustomer, scopeWhere(scope, 'customers')));
  if (!customer) throw new NotFoundError('Customer');
  const rows = await deps.db
    .select()
    .from(consentEvents)
    .where(eq(consentEvents.customerId, customerId))
    .orderBy(asc(consentEvents.occurredAt), asc(consentEvents.seq));
  const history = rows.map(toConsentEvent);
  const latest = history.filter((event) => event.purpose === 'marketing').at(-1);
  return {
    customerId,
    marketing: consentAction(customer.smsOptIn),
    marketingSource: latest?.source ?? null,
    history,
  };
}
