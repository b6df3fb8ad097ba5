import { type Campaign, REASON } from '@touch-crm/contract';
import { type Executor, schema } from '@touch-crm/db';
import { eq, sql } from 'drizzle-orm';
import { type Actor, actorOf, type Caller, jobCaller } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { ConflictError, DomainError } from '../errors.ts';
import { recordEvent } from '../events/record.ts';
import { recordEventsCtes } from '../events/record-set.ts';
import { at } from '../lib/sql.ts';
import { queueMessages } from '../messaging/queueing.ts';
import { audienceWhere } from './audience.ts';
import { lockCampaign, type PromotionFacts, promotionFacts } from './edit.ts';
import { getCampaign } from './read.ts';

const { campaigns } = schema;

export const CAMPAIGN_DISPATCH_JOB = 'campaigns.dispatch';

export interface ExecuteOptions {
  /** Only if it is SCHEDULED and its time has come (the worker's dispatch). */
  onlyIfDue?: boolean;
}

/**
 * Executes a campaign in one transaction: one message per audience member in one INSERT …
 * SELECT (rendered in the database, opted-out members written SKIPPED), their delivery jobs,
 * and the campaign's promotion assigned to every recipient set-based. Idempotent: the
 * campaign row is locked, and a RUNNING or COMPLETED campaign is returned as it is (the
 * idempotency key `campaign:<campaign>:<customer>` backs this up).
 */
export async function executeCampaign(
  deps: ServiceDeps,
  caller: Caller,
  { id, ...options }: { id: string } & ExecuteOptions,
): Promise<{ campaign: Campaign; executed: boolean }> {
  const actor = actorOf(caller);
  const now = deps.now();
  const executed = await deps.db.transaction(async (tx) => {
    const row = await lockCampaign(tx, id);
    if (row.status === 'RUNNING' || row.status === 'COMPLETED') return false;
    if (row.status === 'CANCELLED') throw new ConflictError(REASON.CAMPAIGN_CANCELLED, 'The campaign was cancelled');
    if (options.onlyIfDue && (row.status !== 'SCHEDULED' || !row.scheduledAt || row.scheduledAt > now)) return false;
    const promotion = row.promotionId ? await promotionFacts(tx, row.promotionId, now) : undefined;
    if (row.promotionId && !promotion?.open)
      throw new ConflictError(REASON.PROMOTION_UNAVAILABLE, "The campaign's promotion is no longer active");
    const audience = row.audience;
    const queued = await queueMessages(deps, tx, {
      type: 'CAMPAIGN',
      template: row.message,
      now,
      campaignId: id,
      recipients: sql`
        select c.id as customer_id, c.phone, c.sms_opt_in, c.first_name, c.last_name, l.name as level_name,
               ${promotion?.name ?? ''}::text as promotion_name, ${promotion?.code ?? ''}::text as promotion_code,
               'campaign:' || ${id}::text || ':' || c.id as idempotency_key
          from customers c
          left join customer_rfm r on r.customer_id = c.id
          left join customer_levels l on l.id = r.level_id
         where ${audienceWhere(audience)}`,
    });
    if (promotion) await assignCampaignPromotion(tx, actor, { id, name: row.name }, promotion, now);
    const recipients = queued.queuedIds.length;
    const audienceCount = recipients + queued.skipped;
    const done = recipients === 0;
    await tx
      .update(campaigns)
      .set({
        status: done ? 'COMPLETED' : 'RUNNING',
        startedAt: now,
        completedAt: done ? now : null,
        audienceCount,
        updatedAt: now,
      })
      .where(eq(campaigns.id, id));
    await recordEvent(
      { tx, jobs: deps.jobs },
      {
        type: 'campaign.executed',
        entityType: 'campaign',
        entityId: id,
        actor,
        data: {
          id,
          audience: audienceCount,
          queued: recipients,
          skipped: queued.skipped,
          promotionId: row.promotionId,
        },
        changes: { status: { before: row.status, after: done ? 'COMPLETED' : 'RUNNING' } },
        occurredAt: now,
      },
    );
    return true;
  });
  return { campaign: await getCampaign(deps, id), executed };
}

/**
 * Assigns the campaign's promotion to every recipient (a QUEUED message of the campaign) in one
 * INSERT … SELECT, ON CONFLICT DO NOTHING (a customer keeps an assignment they already have), and
 * records a `promotion.assigned` event per assignment set-based, shaped as the commerce verbs write it.
 */
async function assignCampaignPromotion(
  tx: Executor,
  actor: Actor,
  campaign: { id: string; name: string },
  promotion: PromotionFacts,
  now: Date,
): Promise<void> {
  const assignedBy = actor.kind === 'user' ? actor.userId : null;
  await tx.execute(sql`
    with assigned as (
      insert into customer_promotions as cp
        (customer_id, promotion_id, status, source, assigned_by_id, assigned_at, expires_at, created_at, updated_at)
      select m.customer_id, p.id, 'ACTIVE', 'CAMPAIGN', ${assignedBy}::uuid, ${at(now)},
             least(${at(now)} + make_interval(days => p.validity_days), p.ends_at), ${at(now)}, ${at(now)}
        from message_queue m
        join promotions p on p.id = ${promotion.id}::uuid
       where m.campaign_id = ${campaign.id}::uuid and m.status = 'QUEUED' and m.customer_id is not null
      on conflict on constraint customer_promotions_once_per_customer do nothing
      returning cp.*
    ), ${recordEventsCtes(
      'assignment',
      sql`
      select 'promotion.assigned' as type, 'customer_promotion' as entity_type, a.id as entity_id,
             a.customer_id, ${assignedBy}::uuid as actor_user_id,
             ${actor.kind === 'job' ? actor.name : null}::text as actor_job,
             jsonb_build_object(
               'id', a.id, 'customerId', a.customer_id,
               'promotion', jsonb_build_object('id', p.id, 'name', p.name, 'code', p.code, 'discountType', p.discount_type,
                                               'discountValue', p.discount_value, 'conditionType', p.condition_type),
               'status', a.status, 'source', a.source, 'sourceOrderId', null, 'assignedAt', a.assigned_at,
               'expiresAt', a.expires_at, 'redeemedAt', null, 'redeemedOrderId', null, 'campaignId', ${campaign.id}::uuid
             ) as data,
             null::jsonb as changes,
             'Promotion assigned: ' || p.name as subject,
             ${`Sent with campaign ${campaign.name}`}::text as content,
             ${at(now)} as occurred_at
        from assigned a join promotions p on p.id = a.promotion_id`,
    )}
    select 1`);
}

export interface DispatchResult {
  executed: string[];
  /** Campaigns that could not run, with why (they stay SCHEDULED). */
  failed: { campaignId: string; reason: string }[];
}

/**
 * Executes SCHEDULED campaigns whose time has come: the one named, or every due one. Run by
 * the worker at each campaign's scheduledAt and every minute as a safety net; idempotent.
 */
export async function dispatchCampaigns(deps: ServiceDeps, campaignId?: string): Promise<DispatchResult> {
  const now = deps.now();
  const ids = campaignId
    ? [campaignId]
    : (
        await deps.db.execute<{ id: string }>(sql`
          select id from campaigns where status = 'SCHEDULED' and scheduled_at <= ${at(now)} order by scheduled_at`)
      ).map((row) => row.id);
  const result: DispatchResult = { executed: [], failed: [] };
  for (const id of ids) {
    try {
      const outcome = await executeCampaign(deps, jobCaller(CAMPAIGN_DISPATCH_JOB), { id, onlyIfDue: true });
      if (outcome.executed) result.executed.push(id);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      result.failed.push({ campaignId: id, reason: error.message });
    }
  }
  return result;
}
