import {
  type AssignPromotionInput,
  type AssignPromotionOutput,
  type CreatePromotionInput,
  type DeleteResult,
  type ListPromotionsInput,
  type Promotion,
  promotionRuleIssues,
  REASON,
  type SyncPage,
  type UpdatePromotionInput,
} from '@touch-crm/contract';
import { type Executor, schema } from '@touch-crm/db';
import { and, asc, eq, gt, ilike, isNull, lte, not, or, type SQL } from 'drizzle-orm';
import { type Actor, type AuthUser, actorOf, type Caller, type UserCaller, userActor } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { ConflictError, ForbiddenError, isUniqueViolation, NotFoundError, ValidationError } from '../errors.ts';
import { diffFields, recordEvent } from '../events/record.ts';
import { sortBy, syncPageOf } from '../lib/page.ts';
import { containing, theRow } from '../lib/sql.ts';
import { deleteOrDeactivate } from './delete-or-deactivate.ts';
import { assignToCustomers } from './promotion-assignment.ts';

const { promotions, customerLevels } = schema;
type PromotionRow = typeof promotions.$inferSelect;

const FIELDS = [
  'name',
  'code',
  'description',
  'discountType',
  'discountValue',
  'conditionType',
  'minPurchaseAmount',
  'customerLevelId',
  'startsAt',
  'endsAt',
  'validityDays',
  'isActive',
] as const;

function toPromotion(row: PromotionRow): Promotion {
  return {
    id: row.id,
    name: row.name,
    code: row.code,
    description: row.description,
    discountType: row.discountType,
    discountValue: row.discountValue,
    conditionType: row.conditionType,
    minPurchaseAmount: row.minPurchaseAmount,
    customerLevelId: row.customerLevelId,
    startsAt: row.startsAt?.toISOString() ?? null,
    endsAt: row.endsAt?.toISOString() ?? null,
    validityDays: row.validityDays,
    isActive: row.isActive,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** Open at `now`: switched on, started and not ended. */
const openAt = (now: Date) =>
  and(
    eq(promotions.isActive, true),
    or(isNull(promotions.startsAt), lte(promotions.startsAt, now)),
    or(isNull(promotions.endsAt), gt(promotions.endsAt, now)),
  ) as SQL;

function codeTaken(error: unknown): never {
  if (isUniqueViolation(error, 'promotions_code_unique'))
    throw new ConflictError(REASON.PROMOTION_CODE_TAKEN, 'A promotion with this code already exists');
  throw error;
}

async function assertLevelExists(executor: Executor, levelId: string | null | undefined) {
  if (!levelId) return;
  const [level] = await executor
    .select({ id: customerLevels.id })
    .from(customerLevels)
    .where(eq(customerLevels.id, levelId));
  if (!level) throw ValidationError.field('customerLevelId', 'unknown customer level');
}

const toDate = (value: string | null | undefined) => (value == null ? value : new Date(value));

const promotionEvent = (type: string, actor: Actor, promotion: Promotion, changes?: ReturnType<typeof diffFields>) => ({
  type,
  entityType: 'promotion',
  entityId: promotion.id,
  actor,
  data: promotion,
  changes,
});

export async function createPromotion(
  deps: ServiceDeps,
  caller: Caller,
  input: CreatePromotionInput,
): Promise<Promotion> {
  const actor = actorOf(caller);
  return deps.db
    .transaction(async (tx) => {
      await assertLevelExists(tx, input.customerLevelId);
      const row = theRow(
        await tx
          .insert(promotions)
          .values({
            ...input,
            startsAt: toDate(input.startsAt),
            endsAt: toDate(input.endsAt),
            createdById: actor.kind === 'user' ? actor.userId : null,
          })
          .returning(),
      );
      const promotion = toPromotion(row);
      await recordEvent(
        { tx, jobs: deps.jobs },
        promotionEvent('promotion.created', actor, promotion, diffFields({}, promotion, FIELDS)),
      );
      return promotion;
    })
    .catch(codeTaken);
}

async function findPromotion(executor: Executor, id: string) {
  const [row] = await executor.select().from(promotions).where(eq(promotions.id, id));
  if (!row) throw new NotFoundError('Promotion');
  return row;
}

export const getPromotion = async (deps: ServiceDeps, id: string) => toPromotion(await findPromotion(deps.db, id));

const sortColumns = { name: promotions.name, createdAt: promotions.createdAt, endsAt: promotions.endsAt };

export async function listPromotions(deps: ServiceDeps, input: ListPromotionsInput): Promise<SyncPage<Promotion>> {
  const conditions: (SQL | undefined)[] = [];
  if (input.active !== undefined) conditions.push(input.active ? openAt(deps.now()) : not(openAt(deps.now())));
  if (input.conditionType) conditions.push(eq(promotions.conditionType, input.conditionType));
  if (input.search) {
    const pattern = containing(input.search);
    conditions.push(or(ilike(promotions.name, pattern), ilike(promotions.code, pattern)));
  }
  return syncPageOf(
    deps,
    input,
    {
      rows: deps.db.select().from(promotions).$dynamic(),
      table: promotions,
      keyset: { updatedAt: promotions.updatedAt, id: promotions.id },
      where: and(...conditions),
      order: [sortBy(sortColumns, input.sort), asc(promotions.id)],
    },
    (rows) => rows.map(toPromotion),
  );
}

/** Changes the given fields; the merged promotion must pass the same rules as a new one. */
export async function updatePromotion(
  deps: ServiceDeps,
  caller: Caller,
  input: UpdatePromotionInput,
): Promise<Promotion> {
  const actor = actorOf(caller);
  const { id, ...fields } = input;
  return deps.db
    .transaction(async (tx) => {
      const [before] = await tx.select().from(promotions).where(eq(promotions.id, id)).for('no key update');
      if (!before) throw new NotFoundError('Promotion');
      const values: Partial<typeof promotions.$inferInsert> = Object.fromEntries(
        Object.entries({ ...fields, startsAt: toDate(fields.startsAt), endsAt: toDate(fields.endsAt) }).filter(
          ([, value]) => value !== undefined,
        ),
      );
      if (Object.keys(values).length === 0) return toPromotion(before);
      const issues = promotionRuleIssues({ ...before, ...values });
      if (issues.length > 0) throw new ValidationError(issues);
      if (values.customerLevelId !== before.customerLevelId) await assertLevelExists(tx, values.customerLevelId);
      const after = theRow(await tx.update(promotions).set(values).where(eq(promotions.id, id)).returning());
      const promotion = toPromotion(after);
      const changes = diffFields(toPromotion(before), promotion, FIELDS);
      if (Object.keys(changes).length > 0)
        await recordEvent({ tx, jobs: deps.jobs }, promotionEvent('promotion.updated', actor, promotion, changes));
      return promotion;
    })
    .catch(codeTaken);
}

/** Removes a promotion never assigned (nor used by a campaign); otherwise deactivates it, keeping the history. */
export async function deletePromotion(
  deps: ServiceDeps,
  caller: Caller,
  { id }: { id: string },
): Promise<DeleteResult> {
  const actor = actorOf(caller);
  return deps.db.transaction(async (tx) => {
    const promotion = toPromotion(await findPromotion(tx, id));
    const result = await deleteOrDeactivate(
      tx,
      id,
      (savepoint) => savepoint.delete(promotions).where(eq(promotions.id, id)),
      () => tx.update(promotions).set({ isActive: false }).where(eq(promotions.id, id)),
    );
    await recordEvent(
      { tx, jobs: deps.jobs },
      promotionEvent(result.outcome === 'DELETED' ? 'promotion.deleted' : 'promotion.deactivated', actor, promotion),
    );
    return result;
  });
}

/**
 * Whether the caller may hand out promotions of this condition type: MANUAL ones with
 * `promotions:assign_manual`, every type (a level's or a purchase's reward too) with
 * `promotions:assign_any`. Which customers is the separate `assign_own`/`assign_all` scope.
 */
const mayAssign = (user: AuthUser, conditionType: PromotionRow['conditionType']) =>
  user.permissions.has('promotions:assign_any') ||
  (conditionType === 'MANUAL' && user.permissions.has('promotions:assign_manual'));

/**
 * Assigns a promotion to up to 1000 customers within the caller's scope. Idempotent: a
 * customer who already holds it is skipped, as is one that is unknown, deleted or not the
 * caller's (alike, so the answer reveals nothing about other reps' customers).
 */
export async function assignPromotion(
  deps: ServiceDeps,
  caller: UserCaller,
  input: AssignPromotionInput,
): Promise<AssignPromotionOutput> {
  const { user, scope } = caller;
  const now = deps.now();
  return deps.db.transaction(async (tx) => {
    const [promotion] = await tx
      .select({ id: promotions.id, conditionType: promotions.conditionType, open: openAt(now).mapWith(Boolean) })
      .from(promotions)
      .where(eq(promotions.id, input.id))
      .for('key share');
    if (!promotion) throw new NotFoundError('Promotion');
    if (!mayAssign(user, promotion.conditionType))
      throw new ForbiddenError(
        user.permissions.has('promotions:assign_manual')
          ? 'You may assign only MANUAL promotions'
          : 'You may not assign promotions',
      );
    if (!promotion.open)
      throw new ConflictError(REASON.PROMOTION_UNAVAILABLE, 'The promotion is inactive, not started or ended');
    return assignToCustomers({ tx, jobs: deps.jobs }, userActor(user), scope, input.id, input.customerIds, now);
  });
}
