import {
  type CreateCustomerInput,
  type CustomerDetail,
  type DeleteResult,
  REASON,
  type UpdateCustomerInput,
} from '@touch-crm/contract';
import { type Executor, schema } from '@touch-crm/db';
import { and, eq } from 'drizzle-orm';
import { type AuthUser, type UserCaller, userActor } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { ConflictError, ForbiddenError, isUniqueViolation, NotFoundError, ValidationError } from '../errors.ts';
import { type DomainEvent, diffFields, type FieldChanges, recordEvents } from '../events/record.ts';
import { theRow } from '../lib/sql.ts';
import { recordConsent } from '../messaging/consent.ts';
import { timeZoneFromPhone } from '../messaging/phone-lookup.ts';
import { knownTimeZone } from '../messaging/time-zone-names.ts';
import { resolveScope, scopeWhere } from '../scope.ts';
import { ALL, liveCustomer, loadCustomerDetail } from './customers-read.ts';
import { rfmUpdatedAt } from './customers-sync.ts';
import { manualLevelChange } from './manual-level.ts';
import { normalizePhone } from './phone.ts';
import { assignLevelPromotions } from './promotion-assignment.ts';

const { customers, customerLevels, customerRfm, users } = schema;

/** Fields whose changes the audit trail records. */
const FIELDS = [
  'firstName',
  'lastName',
  'phone',
  'email',
  'birthday',
  'gender',
  'address',
  'notes',
  'status',
  'levelId',
  'ownerId',
  'referredById',
  'smsOptIn',
] as const;
/** The audited customer fields (the import records the same changes). */
export const CUSTOMER_AUDIT_FIELDS = FIELDS;
/** An edit also records a level set or cleared by hand (the import never sets one). */
const UPDATE_FIELDS = [...FIELDS, 'manualLevelId', 'timeZone'] as const;

async function assertActiveUser(executor: Executor, userId: string) {
  const [user] = await executor
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.id, userId), eq(users.isActive, true)));
  if (!user) throw ValidationError.field('ownerId', 'unknown or inactive user');
}

/** Any live customer may be named as the referrer, whoever owns them. */
async function assertReferrer(executor: Executor, referrerId: string | null | undefined, selfId?: string) {
  if (!referrerId) return;
  if (referrerId === selfId) throw ValidationError.field('referredById', 'a customer cannot refer themselves');
  const [referrer] = await executor
    .select({ id: customers.id })
    .from(customers)
    .where(and(eq(customers.id, referrerId), liveCustomer));
  if (!referrer) throw ValidationError.field('referredById', 'unknown customer');
}

/** A live customer already has this phone: 409, naming them only to a caller who may read them. */
async function phoneConflict(deps: ServiceDeps, user: AuthUser, phone: string, error: unknown): Promise<never> {
  if (!isUniqueViolation(error, 'customers_live_phone_key')) throw error;
  const readScope = resolveScope(user.permissions, 'customers:read', user.id);
  const [existing] = readScope
    ? await deps.db
        .select({ id: customers.id })
        .from(customers)
        .where(and(eq(customers.phone, phone), liveCustomer, scopeWhere(readScope, 'customers')))
    : [];
  throw new ConflictError(
    REASON.PHONE_TAKEN,
    'A customer with this phone number already exists',
    existing ? { existingCustomerId: existing.id } : undefined,
  );
}

/** What the consent record keeps of an API change: the operation, and the API key when one was used. */
const apiEvidence = (user: AuthUser, operation: string) => ({
  operation,
  ...(user.apiKeyId ? { apiKeyId: user.apiKeyId } : {}),
});

const customerName = (c: { firstName: string; lastName: string }) => `${c.firstName} ${c.lastName}`;

/** Owner defaults to the caller; naming another owner needs the `_all` create permission. */
export async function createCustomer(
  deps: ServiceDeps,
  caller: UserCaller,
  input: CreateCustomerInput,
): Promise<CustomerDetail> {
  const { user, scope } = caller;
  const ownerId = input.ownerId ?? user.id;
  if (scope.kind === 'own' && ownerId !== user.id)
    throw new ForbiddenError('You may only create customers you own yourself');
  const phone = normalizePhone(input.phone, deps.config.DEFAULT_PHONE_REGION);
  const now = deps.now();
  const actor = userActor(user);
  const id = await deps.db
    .transaction(async (tx) => {
      if (ownerId !== user.id) await assertActiveUser(tx, ownerId);
      await assertReferrer(tx, input.referredById);
      const timeZone = input.timeZone ? await knownTimeZone(tx, input.timeZone) : timeZoneFromPhone(phone);
      const row = theRow(
        await tx
          .insert(customers)
          .values({
            ...input,
            phone,
            ownerId,
            timeZone,
            createdAt: now,
            updatedAt: now,
          })
          .returning(),
      );
      const created = row;
      await recordConsent(tx, [
        {
          customerId: created.id,
          granted: created.smsOptIn,
          source: 'api',
          actor,
          evidence: apiEvidence(user, 'createCustomer'),
          occurredAt: now,
        },
      ]);
      // Welcome messages (and anything else reacting to new customers) start from this event.
      await recordEvents({ tx, jobs: deps.jobs }, [
        {
          type: 'customer.created',
          entityType: 'customer',
          entityId: created.id,
          customerId: created.id,
          actor,
          data: { id: created.id, status: created.status, ownerId, smsOptIn: created.smsOptIn },
          changes: diffFields({}, created, FIELDS),
          timeline: { subject: `Customer created: ${customerName(created)}`, content: `Status ${created.status}` },
          occurredAt: now,
        },
      ]);
      return created.id;
    })
    .catch((error) => phoneConflict(deps, user, phone, error));
  return loadCustomerDetail(deps.db, ALL, id, now);
}

/** Splits one edit into the events people look for: status and level changes have their own. */
export function updateEvents(
  base: Omit<DomainEvent, 'type' | 'changes' | 'timeline'>,
  changes: FieldChanges,
  levelNames: { before: string | null; after: string | null },
): DomainEvent[] {
  const { status, levelId, manualLevelId, ...rest } = changes;
  if (manualLevelId && !levelId) rest.manualLevelId = manualLevelId;
  const events: DomainEvent[] = [];
  if (Object.keys(rest).length > 0)
    events.push({
      ...base,
      type: 'customer.updated',
      changes: rest,
      timeline: { subject: 'Customer details updated', content: `Changed: ${Object.keys(rest).join(', ')}` },
    });
  if (status)
    events.push({
      ...base,
      type: 'customer.status_changed',
      changes: { status },
      timeline: { subject: `Status changed from ${status.before} to ${status.after}` },
    });
  if (levelId)
    events.push({
      ...base,
      type: 'customer.level_changed',
      changes: manualLevelId ? { levelId, manualLevelId } : { levelId },
      timeline: { subject: `Level changed from ${levelNames.before ?? 'none'} to ${levelNames.after ?? 'none'}` },
    });
  return events;
}

async function levelName(executor: Executor, levelId: string | null): Promise<string | null> {
  if (!levelId) return null;
  const [level] = await executor
    .select({ name: customerLevels.name })
    .from(customerLevels)
    .where(eq(customerLevels.id, levelId));
  return level?.name ?? null;
}

/**
 * Changes the given fields; a new level assigns that level's promotions in the same transaction.
 * `levelId` is a manual level (see manualLevelChange).
 */
export async function updateCustomer(
  deps: ServiceDeps,
  caller: UserCaller,
  input: UpdateCustomerInput,
): Promise<CustomerDetail> {
  const { user, scope } = caller;
  const { id, ...fields } = input;
  const phone = fields.phone === undefined ? undefined : normalizePhone(fields.phone, deps.config.DEFAULT_PHONE_REGION);
  const now = deps.now();
  const actor = userActor(user);
  await deps.db
    .transaction(async (tx) => {
      const [row] = await tx
        .select()
        .from(customers)
        .where(and(eq(customers.id, id), liveCustomer, scopeWhere(scope, 'customers')))
        .for('no key update');
      if (!row) throw new NotFoundError('Customer');
      // The level and score live in customer_rfm (the RFM job's row); the customer row's lock serialises edits.
      const [rfm] = await tx
        .select({ levelId: customerRfm.levelId, rfmScore: customerRfm.score })
        .from(customerRfm)
        .where(eq(customerRfm.customerId, id));
      const before = { ...row, levelId: rfm?.levelId ?? null, rfmScore: rfm?.rfmScore ?? null };
      const { levelId, ...otherFields } = fields;
      const values = Object.fromEntries(
        Object.entries({ ...otherFields, phone }).filter(([, value]) => value !== undefined),
      ) as Partial<typeof customers.$inferInsert> & { levelId?: string | null };
      Object.assign(values, await manualLevelChange(tx, user, before, levelId));
      if (values.timeZone) values.timeZone = await knownTimeZone(tx, values.timeZone);
      if (values.ownerId !== undefined && values.ownerId !== before.ownerId) {
        if (scope.kind === 'own') throw new ForbiddenError('Only a manager may give a customer to another owner');
        await assertActiveUser(tx, values.ownerId);
      }
      if (values.referredById !== before.referredById) await assertReferrer(tx, values.referredById, id);
      const changes = diffFields(before, { ...before, ...values }, UPDATE_FIELDS);
      if (Object.keys(changes).length === 0) return;
      // A new number is worth trying again, whatever the carrier said of the old one.
      if (changes.phone) Object.assign(values, { phoneUndeliverableAt: null, phoneUndeliverableReason: null });
      // A zone cleared, or a new number without a zone given, is derived from the phone again.
      if (fields.timeZone === null || (changes.phone && fields.timeZone === undefined))
        values.timeZone = timeZoneFromPhone(values.phone ?? before.phone);

      const { levelId: newLevelId, ...customerValues } = values;
      await tx
        .update(customers)
        .set({ ...customerValues, updatedAt: now })
        .where(eq(customers.id, id));
      // The level lives in customer_rfm (the RFM job's row), written in this edit's transaction.
      if (changes.levelId)
        await tx
          .insert(customerRfm)
          .values({ customerId: id, levelId: newLevelId ?? null, updatedAt: rfmUpdatedAt(now) })
          .onConflictDoUpdate({
            target: customerRfm.customerId,
            set: { levelId: newLevelId ?? null, updatedAt: rfmUpdatedAt(now) },
          });
      if (changes.smsOptIn)
        await recordConsent(tx, [
          {
            customerId: id,
            granted: values.smsOptIn as boolean,
            source: 'api',
            actor,
            evidence: apiEvidence(user, 'updateCustomer'),
            occurredAt: now,
          },
        ]);
      const levels = changes.levelId
        ? { before: await levelName(tx, before.levelId), after: await levelName(tx, values.levelId ?? null) }
        : { before: null, after: null };
      await recordEvents(
        { tx, jobs: deps.jobs },
        updateEvents(
          { entityType: 'customer', entityId: id, customerId: id, actor, data: { id, ...values }, occurredAt: now },
          changes,
          levels,
        ),
      );
      if (changes.levelId && values.levelId) await assignLevelPromotions({ tx, jobs: deps.jobs }, actor, [id], now);
    })
    .catch((error) => phoneConflict(deps, user, phone ?? '', error));
  return loadCustomerDetail(deps.db, ALL, id, now);
}

/** Soft delete: hidden from lists and jobs, orders and history kept, the phone number free again. */
export async function deleteCustomer(
  deps: ServiceDeps,
  caller: UserCaller,
  { id }: { id: string },
): Promise<DeleteResult> {
  const { user, scope } = caller;
  const now = deps.now();
  return deps.db.transaction(async (tx) => {
    const [deleted] = await tx
      .update(customers)
      .set({ deletedAt: now, updatedAt: now })
      .where(and(eq(customers.id, id), liveCustomer, scopeWhere(scope, 'customers')))
      .returning({ id: customers.id, firstName: customers.firstName, lastName: customers.lastName });
    if (!deleted) throw new NotFoundError('Customer');
    await recordEvents({ tx, jobs: deps.jobs }, [
      {
        type: 'customer.deleted',
        entityType: 'customer',
        entityId: id,
        customerId: id,
        actor: userActor(user),
        data: { id },
        timeline: { subject: `Customer deleted: ${customerName(deleted)}` },
        occurredAt: now,
      },
    ]);
    return { id, outcome: 'DELETED' as const };
  });
}
