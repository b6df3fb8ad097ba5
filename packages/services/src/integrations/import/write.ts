import type { ImportRowError } from '@touch-crm/contract';
import { sql } from 'drizzle-orm';
import type { Actor } from '../../actor.ts';
import { CUSTOMER_AUDIT_FIELDS, updateEvents } from '../../commerce/customers.ts';
import type { EventContext } from '../../events/reactions.ts';
import type { DomainEvent, FieldChanges } from '../../events/record.ts';
import { recordEventsSet } from '../../events/record-set.ts';
import { at } from '../../lib/sql.ts';
import { recordConsentSet } from '../../messaging/consent.ts';
import type { Gender, RowValues, Status } from './parse-row.ts';

/** A new customer's audited fields, defaults filled in. */
export type NewCustomer = {
  firstName: string;
  lastName: string;
  phone: string;
  email: string | null;
  birthday: string | null;
  gender: Gender | null;
  address: string | null;
  notes: string | null;
  status: Status;
  levelId: null;
  ownerId: string;
  referredById: null;
  smsOptIn: boolean;
  timeZone: string | null;
};
type CreateOp = { kind: 'create'; rowNumber: number; id: string; row: NewCustomer };
type UpdateOp = { kind: 'update'; rowNumber: number; id: string; values: RowValues; changes: FieldChanges };
export type WriteOp = CreateOp | UpdateOp;

/** A phone was taken by another transaction between our lookup and our insert: run the batch again. */
export class PhoneTakenMeanwhile extends Error {}

/** A database error about the row's data (SQLSTATE classes 22 and 23), not about the database. */
function dataError(error: unknown): string | null {
  const cause = (error as { cause?: unknown })?.cause ?? error;
  const pg = cause as { code?: unknown; message?: unknown };
  if (typeof pg?.code !== 'string' || !/^2[23]/.test(pg.code)) return null;
  return typeof pg.message === 'string' ? pg.message : pg.code;
}

export interface BatchOutcome {
  created: number;
  updated: number;
  errors: ImportRowError[];
}

/** Inserts, updates and their events; on a data error, halves the rows until the bad ones stand alone. */
export async function writeRows(context: EventContext, ops: WriteOp[], actor: Actor, now: Date): Promise<BatchOutcome> {
  try {
    return await context.tx.transaction(async (savepoint) => applyRows({ ...context, tx: savepoint }, ops, actor, now));
  } catch (error) {
    const message = dataError(error);
    if (message === null) throw error;
    if (ops.length === 1) {
      const op = ops[0] as WriteOp;
      return {
        created: 0,
        updated: 0,
        errors: [{ rowNumber: op.rowNumber, field: null, message: `could not be saved: ${message}` }],
      };
    }
    const middle = ops.length >> 1;
    const first = await writeRows(context, ops.slice(0, middle), actor, now);
    const second = await writeRows(context, ops.slice(middle), actor, now);
    return {
      created: first.created + second.created,
      updated: first.updated + second.updated,
      errors: [...first.errors, ...second.errors],
    };
  }
}

/** A new customer's audit changes, as `diffFields({}, customer, CUSTOMER_AUDIT_FIELDS)` gives them, from row `v`. */
const CREATED_CHANGES = sql.raw(
  `jsonb_build_object(${CUSTOMER_AUDIT_FIELDS.map((field) => {
    const column =
      field === 'levelId' || field === 'referredById'
        ? 'null'
        : `v.${field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`;
    return `'${field}', jsonb_build_object('before', null, 'after', ${column})`;
  }).join(', ')})`,
);

async function applyRows(context: EventContext, ops: WriteOp[], actor: Actor, now: Date): Promise<BatchOutcome> {
  const { tx } = context;
  const creates = ops.filter((op): op is CreateOp => op.kind === 'create');
  const updates = ops.filter((op): op is UpdateOp => op.kind === 'update');
  if (creates.length > 0) {
    const rows = creates.map(({ id, row }) => ({
      id,
      first_name: row.firstName,
      last_name: row.lastName,
      phone: row.phone,
      email: row.email,
      birthday: row.birthday,
      gender: row.gender,
      address: row.address,
      notes: row.notes,
      status: row.status,
      owner_id: row.ownerId,
      sms_opt_in: row.smsOptIn,
      time_zone: row.timeZone,
    }));
    // The customers in one statement, then their `customer.created` events in another, built
    // from the same values: the events' reactions (the welcome message) must see the customers.
    // A new CUSTOMER is inserted welcomed (at the event's time, as the welcome reaction would set
    // it): updating those rows again cost more than writing their events; the reaction still
    // writes the message.
    const values = sql`jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
      as v(id uuid, first_name text, last_name text, phone text, email text, birthday date, gender gender,
           address text, notes text, status customer_status, owner_id uuid, sms_opt_in boolean, time_zone text)`;
    const [result] = await tx.execute<{ inserted: number }>(sql`
      with ins as (
        insert into customers (id, first_name, last_name, phone, email, birthday, gender, address, notes, status,
                               owner_id, sms_opt_in, time_zone, welcomed_at, created_at, updated_at)
        select v.id, v.first_name, v.last_name, v.phone, v.email, v.birthday, v.gender, v.address, v.notes, v.status,
               v.owner_id, v.sms_opt_in, v.time_zone, case when v.status = 'CUSTOMER' then ${at(now)} end,
               ${at(now)}, ${at(now)}
          from ${values}
        on conflict (phone) where deleted_at is null do nothing
        returning id
      )
      select count(*)::int as inserted from ins`);
    if (result?.inserted !== creates.length) throw new PhoneTakenMeanwhile();
    await recordConsentSet(
      tx,
      sql`select v.id as customer_id, v.sms_opt_in as granted, jsonb_build_object('operation', 'import') as evidence
            from ${values}`,
      'import',
      actor,
      now,
    );
    await recordEventsSet(
      context,
      sql`
      select 'customer.created' as type, 'customer' as entity_type, v.id as entity_id, v.id as customer_id,
             ${actor.kind === 'user' ? actor.userId : null}::uuid as actor_user_id,
             ${actor.kind === 'job' ? actor.name : null}::text as actor_job,
             jsonb_build_object('id', v.id, 'status', v.status, 'ownerId', v.owner_id, 'smsOptIn', v.sms_opt_in) as data,
             ${CREATED_CHANGES} as changes,
             'Customer created: ' || v.first_name || ' ' || v.last_name as subject,
             'Status ' || v.status || '; imported from CSV' as content,
             ${at(now)} as occurred_at
        from ${values}`,
    );
  }
  if (updates.length > 0) {
    const rows = updates.map(({ id, values: v }) => ({
      id,
      first_name: v.firstName,
      last_name: v.lastName,
      email: v.email,
      birthday: v.birthday,
      gender: v.gender,
      address: v.address,
      notes: v.notes,
      status: v.status,
      owner_id: v.ownerId,
      sms_opt_in: v.smsOptIn,
      time_zone: v.timeZone,
    }));
    // A missing key is null in the recordset: coalesce keeps the customer's value.
    await tx.execute(sql`
      update customers c
         set first_name = coalesce(v.first_name, c.first_name), last_name = coalesce(v.last_name, c.last_name),
             email = coalesce(v.email, c.email), birthday = coalesce(v.birthday, c.birthday),
             gender = coalesce(v.gender, c.gender), address = coalesce(v.address, c.address),
             notes = coalesce(v.notes, c.notes), status = coalesce(v.status, c.status),
             owner_id = coalesce(v.owner_id, c.owner_id), sms_opt_in = coalesce(v.sms_opt_in, c.sms_opt_in),
             time_zone = coalesce(v.time_zone, c.time_zone), updated_at = ${at(now)}
        from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
          as v(id uuid, first_name text, last_name text, email text, birthday date, gender gender, address text,
               notes text, status customer_status, owner_id uuid, sms_opt_in boolean, time_zone text)
       where c.id = v.id`);
    const consent = updates
      .filter(({ changes }) => changes.smsOptIn)
      .map(({ id, values: v, rowNumber }) => ({ customer_id: id, granted: v.smsOptIn, row: rowNumber }));
    if (consent.length > 0)
      await recordConsentSet(
        tx,
        sql`select customer_id, granted, jsonb_build_object('operation', 'import', 'rowNumber', row) as evidence
              from jsonb_to_recordset(${JSON.stringify(consent)}::jsonb) as c(customer_id uuid, granted boolean, row int)`,
        'import',
        actor,
        now,
      );
  }
  const events: DomainEvent[] = [];
  for (const { id, values, changes } of updates)
    events.push(
      ...updateEvents(
        { entityType: 'customer', entityId: id, customerId: id, actor, data: { id, ...values }, occurredAt: now },
        changes,
        { before: null, after: null },
      ),
    );
  await recordEventsInOneStatement(context, events, now);
  return { created: creates.length, updated: updates.length, errors: [] };
}

/**
 * `recordEvents` for these events in one statement, through `recordEventsSet`: building a
 * thousand-row INSERT per table through the query builder cost more CPU than the database
 * spent on the whole batch.
 */
async function recordEventsInOneStatement(context: EventContext, events: DomainEvent[], now: Date): Promise<void> {
  if (events.length === 0) return;
  const rows = events.map((event) => ({
    type: event.type,
    entity_type: event.entityType,
    entity_id: event.entityId,
    customer_id: event.customerId ?? null,
    actor_user_id: event.actor.kind === 'user' ? event.actor.userId : null,
    actor_job: event.actor.kind === 'job' ? event.actor.name : null,
    data: event.data,
    changes: event.changes ?? null,
    subject: event.timeline?.subject ?? null,
    content: event.timeline?.content ?? null,
    occurred_at: (event.occurredAt ?? now).toISOString(),
  }));
  await recordEventsSet(
    context,
    sql`select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
          as e(type text, entity_type text, entity_id uuid, customer_id uuid, actor_user_id uuid, actor_job text,
               data jsonb, changes jsonb, subject text, content text, occurred_at timestamptz)`,
  );
}
