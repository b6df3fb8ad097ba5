import type { Customer, CustomerDetail, ListCustomersInput, SyncPage } from '@touch-crm/contract';
import { type Database, type Executor, schema } from '@touch-crm/db';
import { and, asc, eq, gt, gte, isNull, like, lt, lte, or, type SQL, sql } from 'drizzle-orm';
import type { Caller } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { NotFoundError } from '../errors.ts';
import { jsonPageOf, sortBy } from '../lib/page.ts';
import { containing, isoText } from '../lib/sql.ts';
import { type Scope, scopeWhere } from '../scope.ts';
import { syncCustomersPage } from './customers-sync.ts';

const { customers, customerLevels, customerRfm, users } = schema;

export const liveCustomer = isNull(customers.deletedAt);

const selectCustomers = (executor: Executor) =>
  executor
    .select({
      customer: customers,
      // The NOT NULL column first: Drizzle reads a left-joined object as absent when its first field is null.
      rfm: {
        updatedAt: customerRfm.updatedAt,
        recency: customerRfm.recency,
        frequency: customerRfm.frequency,
        monetary: customerRfm.monetary,
        score: customerRfm.score,
        segment: customerRfm.segment,
        scoredAt: customerRfm.scoredAt,
      },
      level: { id: customerLevels.id, name: customerLevels.name, rank: customerLevels.rank },
      owner: { id: users.id, fullName: users.fullName },
    })
    .from(customers)
    .innerJoin(users, eq(users.id, customers.ownerId))
    .leftJoin(customerRfm, eq(customerRfm.customerId, customers.id))
    .leftJoin(customerLevels, eq(customerLevels.id, customerRfm.levelId))
    .$dynamic();
type CustomerRow = Awaited<ReturnType<typeof selectCustomers>>[number];

export function toCustomer({ customer: c, rfm, level, owner }: CustomerRow): Customer {
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
      recency: rfm?.recency ?? null,
      frequency: rfm?.frequency ?? null,
      monetary: rfm?.monetary ?? null,
      score: rfm?.score ?? null,
      segment: rfm?.segment ?? null,
      scoredAt: rfm?.scoredAt?.toISOString() ?? null,
    },
    createdAt: c.createdAt.toISOString(),
    // The later of the customer's row and its RFM row (the RFM job writes only the latter).
    updatedAt: (rfm?.updatedAt && rfm.updatedAt > c.updatedAt ? rfm.updatedAt : c.updatedAt).toISOString(),
  };
}

/**
 * A list item as JSON built in PostgreSQL, exactly what `toCustomer` gives: over `customers` with
 * `customerListJoins` (owner, RFM row, its level). Fixed text, built once: composing it from
 * Drizzle columns cost about as much per request as the rest of the list's SQL.
 */
export const customerListItem = sql.raw(`json_build_object(
  'id', customers.id, 'firstName', customers.first_name, 'lastName', customers.last_name,
  'phone', customers.phone, 'email', customers.email, 'birthday', customers.birthday,
  'gender', customers.gender, 'address', customers.address, 'notes', customers.notes,
  'status', customers.status, 'smsOptIn', customers.sms_opt_in, 'timeZone', customers.time_zone,
  'phoneUndeliverableAt', ${isoText('customers', 'phone_undeliverable_at')},
  'level', case when customer_levels.id is null then null
    else json_build_object('id', customer_levels.id, 'name', customer_levels.name, 'rank', customer_levels.rank) end,
  'owner', json_build_object('id', users.id, 'fullName', users.full_name),
  'manualLevelId', customers.manual_level_id, 'referredById', customers.referred_by_id,
  'orderCount', customers.order_count, 'totalSpent', customers.total_spent,
  'lastOrderAt', ${isoText('customers', 'last_order_at')},
  'rfm', json_build_object('recency', customer_rfm.recency, 'frequency', customer_rfm.frequency,
    'monetary', customer_rfm.monetary, 'score', customer_rfm.score, 'segment', customer_rfm.segment,
    'scoredAt', ${isoText('customer_rfm', 'scored_at')}),
  'createdAt', ${isoText('customers', 'created_at')},
  'updatedAt', ${isoText('greatest(customers.updated_at, customer_rfm.updated_at)')})`);

const customerListJoins = sql.raw(`join users on users.id = customers.owner_id
  left join customer_rfm on customer_rfm.customer_id = customers.id
  left join customer_levels on customer_levels.id = customer_rfm.level_id`);

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
      'rfm', json_build_object('recency', r.recency, 'frequency', r.frequency, 'monetary', r.monetary,
        'score', r.score, 'segment', r.segment,
        'scoredAt', to_char(r.scored_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
      'createdAt', to_char(c.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'updatedAt', to_char(greatest(c.updated_at, r.updated_at) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
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
      left join customer_rfm r on r.customer_id = c.id
      left join customer_levels l on l.id = r.level_id
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
  if (input.levelId)
    conditions.push(
      sql`exists (select 1 from ${customerRfm} where ${customerRfm.customerId} = ${customers.id} and ${customerRfm.levelId} = ${input.levelId})`,
    );
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
  const where = customerFilters(scope, input);
  const toItems = (rows: CustomerRow[]) => rows.map(toCustomer);
  if (input.cursor !== undefined || input.limit !== undefined)
    return syncCustomersPage(deps, input, () => selectCustomers(deps.db), where, toItems);
  // The total counts customers alone, so the RFM row's time is read through EXISTS.
  const after = input.updatedAfter
    ? sql`(${customers.updatedAt} > ${input.updatedAfter}::timestamptz or exists (select 1 from ${customerRfm}
           where ${customerRfm.customerId} = ${customers.id} and ${customerRfm.updatedAt} > ${input.updatedAfter}::timestamptz))`
    : undefined;
  // Customers who never ordered sort last either way.
  const page = await jsonPageOf<Customer>(deps.db, input, {
    table: customers,
    id: customers.id,
    where: and(where, after),
    order: [sortBy(sortColumns, input.sort, { nullsLast: true }), asc(customers.id)],
    joins: customerListJoins,
    item: customerListItem,
  });
  return { ...page, nextCursor: null };
}
