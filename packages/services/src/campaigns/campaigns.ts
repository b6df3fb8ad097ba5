import type {
  Campaign,
  CampaignAudience,
  CampaignPreview,
  CreateCampaignInput,
  ListCampaignsInput,
  Page,
  UpdateCampaignInput,
} from '@touch-crm/contract';
import { type Executor, schema } from '@touch-crm/db';
import { asc, count, desc, eq, type SQL, sql } from 'drizzle-orm';
import { type Actor, jobActor } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { ConflictError, DomainError, NotFoundError, ValidationError } from '../errors.ts';
import { diffFields, recordEvent } from '../events/record.ts';
import { recordEventsCtes } from '../events/record-set.ts';
import { jobDb } from '../jobs/queue.ts';
import { at, uuids } from '../messaging/policy.ts';
import { queueMessages } from '../messaging/queueing.ts';
import { renderSql, TEMPLATE_VARIABLES, validateTemplate } from '../messaging/template-language.ts';
import { templateBodyOf } from '../messaging/templates.ts';

const { campaigns, promotions } = schema;
type CampaignRow = typeof campaigns.$inferSelect;

export const CAMPAIGN_DISPATCH_JOB = 'campaigns.dispatch';

const textArray = (values: readonly string[]) =>
  sql`array[${sql.join(
    values.map((value) => sql`${value}`),
    sql`, `,
  )}]::text[]`;

/** The audience filter as a condition on `customers c` (live customers only). */
export function audienceWhere(audience: CampaignAudience): SQL {
  const conditions: SQL[] = [sql`c.deleted_at is null`];
  if (audience.statuses) conditions.push(sql`c.status::text = any(${textArray(audience.statuses)})`);
  if (audience.levelIds) conditions.push(sql`c.level_id = any(${uuids(audience.levelIds)})`);
  if (audience.ownerIds) conditions.push(sql`c.owner_id = any(${uuids(audience.ownerIds)})`);
  if (audience.segments) conditions.push(sql`c.rfm_segment = any(${textArray(audience.segments)})`);
  if (audience.lastOrderBefore) conditions.push(sql`c.last_order_at < ${audience.lastOrderBefore}::timestamptz`);
  if (audience.lastOrderAfter) conditions.push(sql`c.last_order_at > ${audience.lastOrderAfter}::timestamptz`);
  if (audience.minTotalSpent !== undefined) conditions.push(sql`c.total_spent >= ${audience.minTotalSpent}`);
  if (audience.birthdayMonth !== undefined)
    conditions.push(sql`extract(month from c.birthday) = ${audience.birthdayMonth}::int`);
  return sql.join(conditions, sql` and `);
}

type Counts = {
  queued: number;
  sent: number;
  failed: number;
  skipped: number;
  cancelled: number;
};
const noCounts: Counts = { queued: 0, sent: 0, failed: 0, skipped: 0, cancelled: 0 };

async function countsOf(executor: Executor, ids: readonly string[]): Promise<Map<string, Counts>> {
  if (ids.length === 0) return new Map();
  const rows = await executor.execute<Counts & { campaign_id: string }>(sql`
    select campaign_id,
           count(*) filter (where status in ('QUEUED', 'SENDING'))::int as queued,
           count(*) filter (where status = 'SENT')::int as sent,
           count(*) filter (where status = 'FAILED')::int as failed,
           count(*) filter (where status = 'SKIPPED')::int as skipped,
           count(*) filter (where status = 'CANCELLED')::int as cancelled
      from message_queue where campaign_id = any(${uuids(ids)})
     group by campaign_id`);
  return new Map(rows.map((row) => [row.campaign_id, row]));
}

const campaignColumns = {
  campaign: campaigns,
  promotion: { id: promotions.id, name: promotions.name, code: promotions.code },
};

const selectCampaigns = (executor: Executor) =>
  executor.select(campaignColumns).from(campaigns).leftJoin(promotions, eq(promotions.id, campaigns.promotionId));

function toCampaign(
  row: { campaign: CampaignRow; promotion: { id: string; name: string; code: string | null } | null },
  counts: Counts,
  audience: number | null,
): Campaign {
  const c = row.campaign;
  return {
    id: c.id,
    name: c.name,
    message: c.message,
    audience: c.audience as CampaignAudience,
    promotion: row.promotion,
    status: c.status,
    scheduledAt: c.scheduledAt?.toISOString() ?? null,
    startedAt: c.startedAt?.toISOString() ?? null,
    completedAt: c.completedAt?.toISOString() ?? null,
    cancelledAt: c.cancelledAt?.toISOString() ?? null,
    counts: { audience, ...counts },
    createdById: c.createdById,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}

async function audienceSize(executor: Executor, audience: CampaignAudience): Promise<number> {
  const [row] = await executor.execute<{ n: number }>(
    sql`select count(*)::int as n from customers c where ${audienceWhere(audience)}`,
  );
  return row?.n ?? 0;
}

/** A campaign with its counts; before execution `counts.audience` is the audience's size now. */
export async function getCampaign(deps: ServiceDeps, id: string): Promise<Campaign> {
  const [row] = await selectCampaigns(deps.db).where(eq(campaigns.id, id));
  if (!row) throw new NotFoundError('Campaign');
  const counts = (await countsOf(deps.db, [id])).get(id) ?? noCounts;
  const audience =
    row.campaign.audienceCount ?? (await audienceSize(deps.db, row.campaign.audience as CampaignAudience));
  return toCampaign(row, counts, audience);
}

const sortColumns = { createdAt: campaigns.createdAt, scheduledAt: campaigns.scheduledAt, name: campaigns.name };

export async function listCampaigns(deps: ServiceDeps, input: ListCampaignsInput): Promise<Page<Campaign>> {
  const where = input.status ? eq(campaigns.status, input.status) : undefined;
  const descending = input.sort.startsWith('-');
  const column = sortColumns[input.sort.replace('-', '') as keyof typeof sortColumns];
  const [rows, totals] = await Promise.all([
    selectCampaigns(deps.db)
      .where(where)
      .orderBy(descending ? desc(column) : asc(column), asc(campaigns.id))
      .limit(input.pageSize)
      .offset((input.page - 1) * input.pageSize),
    deps.db.select({ total: count() }).from(campaigns).where(where),
  ]);
  const counts = await countsOf(
    deps.db,
    rows.map((row) => row.campaign.id),
  );
  return {
    items: rows.map((row) =>
      toCampaign(row, counts.get(row.campaign.id) ?? noCounts, row.campaign.audienceCount ?? null),
    ),
    total: totals[0]?.total ?? 0,
    page: input.page,
    pageSize: input.pageSize,
  };
}

type PromotionFacts = {
  id: string;
  name: string;
  code: string | null;
  open: boolean;
};

async function promotionFacts(executor: Executor, id: string, now: Date): Promise<PromotionFacts | undefined> {
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

export async function createCampaign(deps: ServiceDeps, actor: Actor, input: CreateCampaignInput): Promise<Campaign> {
  const now = deps.now();
  const id = await deps.db.transaction(async (tx) => {
    await checkPromotion(tx, input.promotionId, now);
    const message = checkMessage(input.message ?? (await templateBodyOf(tx, 'CAMPAIGN')), Boolean(input.promotionId));
    const scheduledAt = input.scheduledAt ? new Date(input.scheduledAt) : null;
    const [row] = await tx
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
      .returning();
    const created = row as CampaignRow;
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

async function lockCampaign(tx: Executor, id: string): Promise<CampaignRow> {
  const [row] = await tx.select().from(campaigns).where(eq(campaigns.id, id)).for('update');
  if (!row) throw new NotFoundError('Campaign');
  return row;
}

/** Edits a campaign while it is DRAFT or SCHEDULED; setting or clearing scheduledAt moves between the two. */
export async function updateCampaign(deps: ServiceDeps, actor: Actor, input: UpdateCampaignInput): Promise<Campaign> {
  const now = deps.now();
  await deps.db.transaction(async (tx) => {
    const before = await lockCampaign(tx, input.id);
    if (before.status !== 'DRAFT' && before.status !== 'SCHEDULED')
      throw new ConflictError(`A ${before.status} campaign can no longer be edited`);
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
    const [after] = await tx.update(campaigns).set(values).where(eq(campaigns.id, input.id)).returning();
    const changes = diffFields(before, after as CampaignRow, [
      'name',
      'message',
      'audience',
      'promotionId',
      'status',
      'scheduledAt',
    ]);
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

/** The audience's size now and a few rendered messages, without sending anything. */
export async function previewCampaign(deps: ServiceDeps, id: string, sampleSize = 5): Promise<CampaignPreview> {
  const [row] = await selectCampaigns(deps.db).where(eq(campaigns.id, id));
  if (!row) throw new NotFoundError('Campaign');
  const audience = row.campaign.audience as CampaignAudience;
  const body = renderSql(row.campaign.message, {
    firstName: sql`c.first_name`,
    lastName: sql`c.last_name`,
    level: sql`l.name`,
    promotionName: sql`${row.promotion?.name ?? ''}::text`,
    promotionCode: sql`${row.promotion?.code ?? ''}::text`,
  });
  const [sizes] = await deps.db.execute<{ size: number; opted_out: number }>(sql`
    select count(*)::int as size, count(*) filter (where not c.sms_opt_in)::int as opted_out
      from customers c where ${audienceWhere(audience)}`);
  const samples = await deps.db.execute<{ customer_id: string; phone: string; body: string }>(sql`
    select c.id as customer_id, c.phone, ${body} as body
      from customers c left join customer_levels l on l.id = c.level_id
     where ${audienceWhere(audience)} and c.sms_opt_in
     order by c.created_at, c.id
     limit ${sampleSize}`);
  return {
    audienceSize: sizes?.size ?? 0,
    optedOut: sizes?.opted_out ?? 0,
    samples: samples.map((sample) => ({ customerId: sample.customer_id, phone: sample.phone, body: sample.body })),
  };
}

/**
 * Cancels a campaign. Before execution nothing is sent; while RUNNING, its messages not yet
 * handed to the carrier are CANCELLED (those in flight finish). Cancelling twice is a no-op;
 * a COMPLETED campaign cannot be cancelled.
 */
export async function cancelCampaign(deps: ServiceDeps, actor: Actor, id: string): Promise<Campaign> {
  const now = deps.now();
  await deps.db.transaction(async (tx) => {
    const before = await lockCampaign(tx, id);
    if (before.status === 'CANCELLED') return;
    if (before.status === 'COMPLETED') throw new ConflictError('A completed campaign cannot be cancelled');
    await tx
      .update(campaigns)
      .set({ status: 'CANCELLED', cancelledAt: now, updatedAt: now })
      .where(eq(campaigns.id, id));
    const cancelled = await tx.execute<{ n: number }>(sql`
      with c as (
        update message_queue set status = 'CANCELLED', last_error = 'campaign cancelled', updated_at = ${at(now)}
         where campaign_id = ${id}::uuid and status = 'QUEUED'
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
  actor: Actor,
  id: string,
  options: ExecuteOptions = {},
): Promise<{ campaign: Campaign; executed: boolean }> {
  const now = deps.now();
  const executed = await deps.db.transaction(async (tx) => {
    const row = await lockCampaign(tx, id);
    if (row.status === 'RUNNING' || row.status === 'COMPLETED') return false;
    if (row.status === 'CANCELLED') throw new ConflictError('The campaign was cancelled');
    if (options.onlyIfDue && (row.status !== 'SCHEDULED' || !row.scheduledAt || row.scheduledAt > now)) return false;
    const promotion = row.promotionId ? await promotionFacts(tx, row.promotionId, now) : undefined;
    if (row.promotionId && !promotion?.open) throw new ConflictError("The campaign's promotion is no longer active");
    const audience = row.audience as CampaignAudience;
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
          left join customer_levels l on l.id = c.level_id
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
      const outcome = await executeCampaign(deps, jobActor(CAMPAIGN_DISPATCH_JOB), id, { onlyIfDue: true });
      if (outcome.executed) result.executed.push(id);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      result.failed.push({ campaignId: id, reason: error.message });
    }
  }
  return result;
}
