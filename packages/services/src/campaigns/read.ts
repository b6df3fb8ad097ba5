import type { Campaign, CampaignPreview, ListCampaignsInput, Page } from '@touch-crm/contract';
import { type Executor, schema } from '@touch-crm/db';
import { asc, eq, sql } from 'drizzle-orm';
import type { ServiceDeps } from '../deps.ts';
import { NotFoundError } from '../errors.ts';
import { pageOf, sortBy } from '../lib/page.ts';
import { at, uuids } from '../lib/sql.ts';
import { customersAtCapSql } from '../messaging/frequency-cap.ts';
import { nextAllowedSql } from '../messaging/quiet-hours.ts';
import { renderSql } from '../messaging/template-language.ts';
import { audienceSize, audienceWhere } from './audience.ts';

const { campaigns, promotions } = schema;
export type CampaignRow = typeof campaigns.$inferSelect;

type Counts = {
  queued: number;
  sent: number;
  delivered: number;
  undelivered: number;
  failed: number;
  skipped: number;
  cancelled: number;
};
const noCounts: Counts = { queued: 0, sent: 0, delivered: 0, undelivered: 0, failed: 0, skipped: 0, cancelled: 0 };

async function countsOf(executor: Executor, ids: readonly string[]): Promise<Map<string, Counts>> {
  if (ids.length === 0) return new Map();
  const rows = await executor.execute<Counts & { campaign_id: string }>(sql`
    select campaign_id,
           count(*) filter (where status in ('QUEUED', 'SENDING'))::int as queued,
           count(*) filter (where status in ('SENT', 'DELIVERED', 'UNDELIVERED'))::int as sent,
           count(*) filter (where status = 'DELIVERED')::int as delivered,
           count(*) filter (where status = 'UNDELIVERED')::int as undelivered,
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

export const selectCampaigns = (executor: Executor) =>
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
    audience: c.audience,
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

/** A campaign with its counts; before execution `counts.audience` is the audience's size now. */
export async function getCampaign(deps: ServiceDeps, id: string): Promise<Campaign> {
  const [row] = await selectCampaigns(deps.db).where(eq(campaigns.id, id));
  if (!row) throw new NotFoundError('Campaign');
  const counts = (await countsOf(deps.db, [id])).get(id) ?? noCounts;
  const audience = row.campaign.audienceCount ?? (await audienceSize(deps.db, row.campaign.audience));
  return toCampaign(row, counts, audience);
}

const sortColumns = { createdAt: campaigns.createdAt, scheduledAt: campaigns.scheduledAt, name: campaigns.name };

export async function listCampaigns(deps: ServiceDeps, input: ListCampaignsInput): Promise<Page<Campaign>> {
  const where = input.status ? eq(campaigns.status, input.status) : undefined;
  return pageOf(
    deps.db,
    input,
    {
      rows: selectCampaigns(deps.db).$dynamic(),
      table: campaigns,
      where,
      order: [sortBy(sortColumns, input.sort), asc(campaigns.id)],
    },
    async (rows) => {
      const counts = await countsOf(
        deps.db,
        rows.map((row) => row.campaign.id),
      );
      return rows.map((row) =>
        toCampaign(row, counts.get(row.campaign.id) ?? noCounts, row.campaign.audienceCount ?? null),
      );
    },
  );
}

/** The audience's size now and a few rendered messages, without sending anything. */
export async function previewCampaign(deps: ServiceDeps, id: string, sampleSize = 5): Promise<CampaignPreview> {
  const [row] = await selectCampaigns(deps.db).where(eq(campaigns.id, id));
  if (!row) throw new NotFoundError('Campaign');
  const audience = row.campaign.audience;
  const body = renderSql(row.campaign.message, {
    firstName: sql`c.first_name`,
    lastName: sql`c.last_name`,
    level: sql`l.name`,
    promotionName: sql`${row.promotion?.name ?? ''}::text`,
    promotionCode: sql`${row.promotion?.code ?? ''}::text`,
  });
  const now = deps.now();
  // The same per-recipient quiet hours as executing it now would apply (queueMessages).
  const due = nextAllowedSql(now, deps.config.SMS_QUIET_HOURS, sql`coalesce(c.time_zone, ${deps.config.APP_TIMEZONE})`);
  const [sizes] = await deps.db.execute<{
    size: number;
    opted_out: number;
    held: number;
    held_until: string | null;
    held_by_cap: number;
  }>(sql`
    with capped as (${customersAtCapSql(deps.config, now)})
    select count(*)::int as size, count(*) filter (where not c.sms_opt_in)::int as opted_out,
           count(*) filter (where c.sms_opt_in and d.due > ${at(now)})::int as held,
           max(d.due) filter (where c.sms_opt_in and d.due > ${at(now)}) as held_until,
           count(*) filter (where c.sms_opt_in and c.id in (select customer_id from capped))::int as held_by_cap
      from customers c cross join lateral (select ${due} as due) d
     where ${audienceWhere(audience)}`);
  const samples = await deps.db.execute<{ customer_id: string; phone: string; body: string }>(sql`
    select c.id as customer_id, c.phone, ${body} as body
      from customers c left join customer_rfm r on r.customer_id = c.id left join customer_levels l on l.id = r.level_id
     where ${audienceWhere(audience)} and c.sms_opt_in
     order by c.created_at, c.id
     limit ${sampleSize}`);
  return {
    audienceSize: sizes?.size ?? 0,
    optedOut: sizes?.opted_out ?? 0,
    held: sizes?.held ?? 0,
    heldUntil: sizes?.held_until ? new Date(sizes.held_until).toISOString() : null,
    heldByCap: sizes?.held_by_cap ?? 0,
    samples: samples.map((sample) => ({ customerId: sample.customer_id, phone: sample.phone, body: sample.body })),
  };
}
