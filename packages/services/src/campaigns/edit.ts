import { type Campaign, type CreateCampaignInput, REASON, type UpdateCampaignInput } from '@touch-crm/contract';
import { type Executor, schema } from '@touch-crm/db';
import { eq, sql } from 'drizzle-orm';
import { actorOf, type Caller } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { diffFields, recordEvent } from '../events/record.ts';
import { jobDb } from '../jobs/queue.ts';
import { at, theRow } from '../lib/sql.ts';
import { TEMPLATE_VARIABLES, validateTemplate } from '../messaging/template-language.ts';
import { templateBodyOf } from '../messaging/templates.ts';
import { type CampaignRow, getCampaign } from './read.ts';

const { campaigns } = schema;

export type PromotionFacts = {
  id: string;
  name: string;
  code: string | null;
  open: boolean;
};

export async function promotionFacts(executor: Executor, id: string, now: Date): Promise<PromotionFacts | undefined> {
  const [row] = await executor.execute<PromotionFacts>(sql`
    select p.id, p.name, p.code,
           p.is_active and (p.starts_at is null or p.starts_at <= ${at(now)})
             and (p.ends_at is null or p.ends_at > ${at(now)}) as open
      from promotions p where p.id = ${id}::uuid`);
  return row;
}

/** The message checked against the CAMPAIGN variables; promotion variables need a promotion. */
function checkMessage(message: string, hasPromotion: boolean): string {
  return validateTemplate(message, TEMPLATE_VARIABLES.CAMPAIGN, 'message', (variable) =>
    !hasPromotion && variable.startsWith('promotion')
      ? `{{${variable}}} needs a promotion: set promotionId`
      : undefined,
  );
}

async function checkPromotion(executor: Executor, id: string | null | undefined, now: Date) {
  if (!id) return;
  const promotion = await promotionFacts(executor, id, now);
  if (!promotion) throw ValidationError.field('promotionId', 'unknown promotion');
  if (!promotion.open) throw ValidationError.field('promotionId', 'the promotion is not active');
}

/** Wakes the worker at `scheduledAt` for this campaign (the minute-by-minute dispatch is the safety net). */
async function scheduleDispatch(deps: ServiceDeps, tx: Executor, id: string, scheduledAt: Date) {
  await deps.jobs.send(jobDb(tx), 'campaigns.dispatch', { campaignId: id }, { startAfter: scheduledAt });
}

export async function createCampaign(deps: ServiceDeps, caller: Caller, input: CreateCampaignInput): Promise<Campaign> {
  const actor = actorOf(caller);
  const now = deps.now();
  const id = await deps.db.transaction(async (tx) => {
    await checkPromotion(tx, input.promotionId, now);
    const message = checkMessage(input.message ?? (await templateBodyOf(tx, 'CAMPAIGN')), Boolean(input.promotionId));
    const scheduledAt = input.scheduledAt ? new Date(input.scheduledAt) : null;
    const row = theRow(
      await tx
        .insert(campaigns)
        .values({
          name: input.name,
          message,
          audience: input.audience,
          promotionId: input.promotionId ?? null,
          status: scheduledAt ? 'SCHEDULED' : 'DRAFT',
          scheduledAt,
          createdById: actor.kind === 'user' ? actor.userId : null,
          createdAt: now,
          updatedAt: now,
        })
        .returning(),
    );
    const created = row;
    if (scheduledAt) await scheduleDispatch(deps, tx, created.id, scheduledAt);
    await recordEvent(
      { tx, jobs: deps.jobs },
      {
        type: 'campaign.created',
        entityType: 'campaign',
        entityId: created.id,
        actor,
        data: { id: created.id, name: created.name, status: created.status, scheduledAt: input.scheduledAt ?? null },
        changes: diffFields({}, created, ['name', 'message', 'audience', 'promotionId', 'status', 'scheduledAt']),
        occurredAt: now,
      },
    );
    return created.id;
  });
  return getCampaign(deps, id);
}

export async function lockCampaign(tx: Executor, id: string): Promise<CampaignRow> {
  const [row] = await tx.select().from(campaigns).where(eq(campaigns.id, id)).for('update');
  if (!row) throw new NotFoundError('Campaign');
  return row;
}

/** Edits a campaign while it is DRAFT or SCHEDULED; setting or clearing scheduledAt moves between the two. */
export async function updateCampaign(deps: ServiceDeps, caller: Caller, input: UpdateCampaignInput): Promise<Campaign> {
  const actor = actorOf(caller);
  const now = deps.now();
  await deps.db.transaction(async (tx) => {
    const before = await lockCampaign(tx, input.id);
    if (before.status !== 'DRAFT' && before.status !== 'SCHEDULED')
      throw new ConflictError(REASON.CAMPAIGN_NOT_EDITABLE, `A ${before.status} campaign can no longer be edited`);
    const promotionId = input.promotionId === undefined ? before.promotionId : input.promotionId;
    if (input.promotionId) await checkPromotion(tx, input.promotionId, now);
    const message = checkMessage(input.message ?? before.message, Boolean(promotionId));
    const scheduledAt =
      input.scheduledAt === undefined ? before.scheduledAt : input.scheduledAt ? new Date(input.scheduledAt) : null;
    const values = {
      name: input.name ?? before.name,
      message,
      audience: input.audience ?? before.audience,
      promotionId,
      scheduledAt,
      status: scheduledAt ? ('SCHEDULED' as const) : ('DRAFT' as const),
      updatedAt: now,
    };
    const after = theRow(await tx.update(campaigns).set(values).where(eq(campaigns.id, input.id)).returning());
    const changes = diffFields(before, after, ['name', 'message', 'audience', 'promotionId', 'status', 'scheduledAt']);
    if (Object.keys(changes).length === 0) return;
    if (scheduledAt && 'scheduledAt' in changes) await scheduleDispatch(deps, tx, input.id, scheduledAt);
    await recordEvent(
      { tx, jobs: deps.jobs },
      {
        type: 'campaign.updated',
        entityType: 'campaign',
        entityId: input.id,
        actor,
        data: { id: input.id, status: values.status, scheduledAt: scheduledAt?.toISOString() ?? null },
        changes,
        occurredAt: now,
      },
    );
  });
  return getCampaign(deps, input.id);
}

/**
 * Cancels a campaign. Before execution nothing is sent; while RUNNING, its messages not yet
 * handed to the carrier are CANCELLED, claimed ones whose call has not started included (the
 * worker's fence finds them so); calls already started finish. Cancelling twice is a no-op;
 * a COMPLETED campaign cannot be cancelled.
 */
export async function cancelCampaign(deps: ServiceDeps, caller: Caller, { id }: { id: string }): Promise<Campaign> {
  const actor = actorOf(caller);
  const now = deps.now();
  await deps.db.transaction(async (tx) => {
    const before = await lockCampaign(tx, id);
    if (before.status === 'CANCELLED') return;
    if (before.status === 'COMPLETED')
      throw new ConflictError(REASON.CAMPAIGN_NOT_CANCELLABLE, 'A completed campaign cannot be cancelled');
    await tx
      .update(campaigns)
      .set({ status: 'CANCELLED', cancelledAt: now, updatedAt: now })
      .where(eq(campaigns.id, id));
    const cancelled = await tx.execute<{ n: number }>(sql`
      with c as (
        update message_queue set status = 'CANCELLED', last_error = 'campaign cancelled', updated_at = ${at(now)}
         where campaign_id = ${id}::uuid
           and (status = 'QUEUED' or (status = 'SENDING' and call_started_at is null))
        returning 1)
      select count(*)::int as n from c`);
    await recordEvent(
      { tx, jobs: deps.jobs },
      {
        type: 'campaign.cancelled',
        entityType: 'campaign',
        entityId: id,
        actor,
        data: { id, status: 'CANCELLED', messagesCancelled: cancelled[0]?.n ?? 0 },
        changes: { status: { before: before.status, after: 'CANCELLED' } },
        occurredAt: now,
      },
    );
  });
  return getCampaign(deps, id);
}
