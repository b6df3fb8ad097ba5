import type { Customer, CustomerDetail, ListCustomersInput, SyncPage } from '@touch-crm/contract';
import { type Database, type Executor, schema } from '@touch-crm/db';
import { and, asc, eq, gt, gte, isNull, like, lt, lte, or, type SQL } from 'drizzle-orm';
import type { Caller } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { NotFoundError } from '../errors.ts';
import { sortBy, syncPageOf } from '../lib/page.ts';
import { containing } from '../lib/sql.ts';
import { type Scope, scopeWhere } from '../scope.ts';

const { customers, customerLevels, users } = schema;

export const liveCustomer = isNull(customers.deletedAt);

const selectCustomers = (executor: Executor) =>
  executor
    .select({
      customer: customers,
      level: { id: customerLevels.id, name: customerLevels.name, rank: customerLevels.rank },
      owner: { id: users.id, fullName: users.fullName },
    })
    .from(customers)
    .innerJoin(users, eq(users.id, customers.ownerId))
    .leftJoin(customerLevels, eq(customerLevels.id, customers.levelId))
    .$dynamic();
type CustomerRow = Awaited<ReturnType<typeof selectCustomers>>[number];

function toCustomer({ customer: c, level, owner }: CustomerRow): Customer {
  return {
    id: c.id,
    firstName: c.firstName,
    lastName: c.lastName,
    phone: c.phone,
    email: c.email,
    birthday: c.birthday,
    gender: c.gender,
    address: c.address,
    notes: c.notes,
    status: c.status,
    smsOptIn: c.smsOptIn,
    timeZone: c.timeZone,
    phoneUndeliverableAt: c.phoneUndeliverableAt?.toISOString() ?? null,
    level,
    owner,
    manualLevelId: c.manualLevelId,
    referredById: c.referredById,
    orderCount: c.orderCount,
    totalSpent: c.totalSpent,
    lastOrderAt: c.lastOrderAt?.toISOString() ?? null,
    rfm: {
      recency: c.rfmRecency,
      frequency: c.rfmFrequency,
      monetary: c.rfmMonetary,
      score: c.rfmScore,
      segment: c.rfmSegment,
      scoredAt: c.rfmScoredAt?.toISOString() ?? null,
    },
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}

export const ALL: Scope = { kind: 'all' };

/**
 * A live customer within `scope`, with level, owner and the promotions they can use now, in one
 * statement that builds the answer as JSON (promotions as a JSON aggregate). The hottest read of
 * the API: a postgres.js tagged query, so its text is fixed, prepared once per connection and never
 * rebuilt. Times are formatted as `Date#toISOString` would (UTC, milliseconds).
 */
export async function loadCustomerDetail(db: Database, scope: Scope, id: string, now: Date): Promise<CustomerDetail> {
  const ownerId = scope.kind === 'own' ? scope.userId : null;
  const at = now.toISOString();
  const [row] = await db.$client<{ detail: CustomerDetail }[]>`
    select json_build_object(
      'id', c.id, 'firstName', c.first_name, 'lastName', c.last_name, 'phone', c.phone, 'email', c.email,
      'birthday', c.birthday, 'gender', c.gender, 'address', c.address, 'notes', c.notes, 'status', c.status,
      'smsOptIn', c.sms_opt_in, 'timeZone', c.time_zone,
      'phoneUndeliverableAt', to_char(c.phone_undeliverable_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'level', case when l.id is null then null else json_build_object('id', l.id, 'name', l.name, 'rank', l.rank) end,
      'owner', json_build_object('id', u.id, 'fullName', u.full_name),
      'manualLevelId', c.manual_level_id, 'referredById', c.referred_by_id,
      'orderCount', c.order_count, 'totalSpent', c.total_spent,
      'lastOrderAt', to_char(c.last_order_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'rfm', json_build_object('recency', c.rfm_recency, 'frequency', c.rfm_frequency, 'monetary', c.rfm_monetary,
        'score', c.rfm_score, 'segment', c.rfm_segment,
        'scoredAt', to_char(c.rfm_scored_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
      'createdAt', to_char(c.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'updatedAt', to_char(c.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'activePromotions', coalesce((
        select json_agg(json_build_object(
          'id', cp.id, 'customerId', cp.customer_id,
          'promotion', json_build_object('id', p.id, 'name', p.name, 'code', p.code, 'discountType', p.discount_type,
            'discountValue', p.discount_value, 'conditionType', p.condition_type),
          'status', cp.status, 'source', cp.source, 'sourceOrderId', cp.source_order_id,
          'assignedAt', to_char(cp.assigned_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
          'expiresAt', to_char(cp.expires_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
          'redeemedAt', to_char(cp.redeemed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
          'redeemedOrderId', cp.redeemed_order_id) order by cp.assigned_at, cp.id)
          from customer_promotions cp
          join promotions p on p.id = cp.promotion_id
         where cp.customer_id = c.id and cp.status = 'ACTIVE'
           and (cp.expires_at is null or cp.expires_at > ${at}::timestamptz)
           and p.is_active and (p.ends_at is null or p.ends_at > ${at}::timestamptz)), '[]'::json)
    ) as detail
      from customers c
      join users u on u.id = c.owner_id
      left join customer_levels l on l.id = c.level_id
     where c.id = ${id} and c.deleted_at is null and (${ownerId}::uuid is null or c.owner_id = ${ownerId}::uuid)`;
  if (!row) throw new NotFoundError('Customer');
  return row.detail;
}

export const getCustomer = (deps: ServiceDeps, { scope }: Caller, { id }: { id: string }): Promise<CustomerDetail> =>
  loadCustomerDetail(deps.db, scope, id, deps.now());

const sortColumns = {
  createdAt: customers.createdAt,
  lastOrderAt: customers.lastOrderAt,
  totalSpent: customers.totalSpent,
  lastName: customers.lastName,
};

/** Matches the trigram-indexed search text; a phone typed with spaces or dashes matches too. */
function searchCondition(search: string): SQL | undefined {
  const text = like(customers.searchText, containing(search.toLowerCase()));
  const digits = search.replace(/\D/g, '');
  const looksLikePhone = /^[\d\s()+.-]+$/.test(search) && digits.length >= 3;
  return looksLikePhone ? or(text, like(customers.searchText, containing(digits))) : text;
}

/** The list's filters as one condition; the list and the export share it. */
export function customerFilters(scope: Scope, input: Omit<ListCustomersInput, 'page' | 'pageSize' | 'sort'>) {
  const conditions: (SQL | undefined)[] = [liveCustomer, scopeWhere(scope, 'customers')];
  if (input.status) conditions.push(eq(customers.status, input.status));
  if (input.levelId) conditions.push(eq(customers.levelId, input.levelId));
  if (input.ownerId) conditions.push(eq(customers.ownerId, input.ownerId));
  if (input.search) conditions.push(searchCondition(input.search));
  if (input.createdFrom) conditions.push(gte(customers.createdAt, new Date(input.createdFrom)));
  if (input.createdTo) conditions.push(lte(customers.createdAt, new Date(input.createdTo)));
  if (input.lastOrderBefore) conditions.push(lt(customers.lastOrderAt, new Date(input.lastOrderBefore)));
  if (input.lastOrderAfter) conditions.push(gt(customers.lastOrderAt, new Date(input.lastOrderAfter)));
  if (input.minTotalSpent !== undefined) conditions.push(gte(customers.totalSpent, input.minTotalSpent));
  if (input.smsOptIn !== undefined) conditions.push(eq(customers.smsOptIn, input.smsOptIn));
  return and(...conditions);
}

export async function listCustomers(
  deps: ServiceDeps,
  { scope }: Caller,
  input: ListCustomersInput,
): Promise<SyncPage<Customer>> {
  // Customers who never ordered sort last either way.
  return syncPageOf(
    deps.db,
    input,
    {
      rows: selectCustomers(deps.db),
      table: customers,
      keyset: { updatedAt: customers.updatedAt, id: customers.id },
      where: customerFilters(scope, input),
      order: [sortBy(sortColumns, input.sort, { nullsLast: true }), asc(customers.id)],
    },
    (rows) => rows.map(toCustomer),
  );
}
