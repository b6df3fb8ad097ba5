import type { Customer, CustomerDetail, ListCustomersInput, Page } from '@touch-crm/contract';
import { type Executor, schema } from '@touch-crm/db';
import { and, asc, count, eq, gt, gte, isNull, like, lt, lte, or, type SQL, sql } from 'drizzle-orm';
import type { ServiceDeps } from '../deps.ts';
import { NotFoundError } from '../errors.ts';
import { type Scope, scopeWhere } from '../scope.ts';
import { loadCustomerPromotions, usableCustomerPromotion } from './customer-promotions.ts';

const { customers, customerLevels, customerPromotions, users } = schema;

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
    .leftJoin(customerLevels, eq(customerLevels.id, customers.levelId));
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

/** A live customer within `scope`, with level, owner and the promotions they can use now. */
export async function loadCustomerDetail(
  executor: Executor,
  scope: Scope,
  id: string,
  now: Date,
): Promise<CustomerDetail> {
  // Both at once: the promotions of a customer outside the scope are simply discarded.
  const [[row], activePromotions] = await Promise.all([
    selectCustomers(executor).where(and(eq(customers.id, id), liveCustomer, scopeWhere(scope, 'customers'))),
    loadCustomerPromotions(executor, and(eq(customerPromotions.customerId, id), usableCustomerPromotion(now))),
  ]);
  if (!row) throw new NotFoundError('Customer');
  return { ...toCustomer(row), activePromotions };
}

export const getCustomer = (deps: ServiceDeps, scope: Scope, id: string): Promise<CustomerDetail> =>
  loadCustomerDetail(deps.db, scope, id, deps.now());

const sortColumns = {
  createdAt: customers.createdAt,
  lastOrderAt: customers.lastOrderAt,
  totalSpent: customers.totalSpent,
  lastName: customers.lastName,
};

/** Matches the trigram-indexed search text; a phone typed with spaces or dashes matches too. */
function searchCondition(search: string): SQL | undefined {
  const contains = (value: string) => `%${value.replace(/[\\%_]/g, '\\$&')}%`;
  const text = like(customers.searchText, contains(search.toLowerCase()));
  const digits = search.replace(/\D/g, '');
  const looksLikePhone = /^[\d\s()+.-]+$/.test(search) && digits.length >= 3;
  return looksLikePhone ? or(text, like(customers.searchText, contains(digits))) : text;
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
  scope: Scope,
  input: ListCustomersInput,
): Promise<Page<Customer>> {
  const where = customerFilters(scope, input);
  const column = sortColumns[input.sort.replace('-', '') as keyof typeof sortColumns];
  // Customers who never ordered sort last either way.
  const order = input.sort.startsWith('-') ? sql`${column} desc nulls last` : sql`${column} asc nulls last`;
  const [rows, totals] = await Promise.all([
    selectCustomers(deps.db)
      .where(where)
      .orderBy(order, asc(customers.id))
      .limit(input.pageSize)
      .offset((input.page - 1) * input.pageSize),
    deps.db.select({ total: count() }).from(customers).where(where),
  ]);
  return { items: rows.map(toCustomer), total: totals[0]?.total ?? 0, page: input.page, pageSize: input.pageSize };
}
