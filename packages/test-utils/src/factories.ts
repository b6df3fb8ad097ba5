import { ROLE_NAMES } from '@touch-crm/contract';
import { DEFAULT_ADMIN_USERNAME, roleIdsByName, schema } from '@touch-crm/db';
import { hashPassword, issueToken, type ServiceDeps } from '@touch-crm/services';
import { eq, sql } from 'drizzle-orm';

export const DEFAULT_TEST_PASSWORD = 'Password123!';
export type RoleName = (typeof ROLE_NAMES)[keyof typeof ROLE_NAMES];

let defaultHash: Promise<string> | undefined;
let sequence = 0;
export const unique = (prefix: string) => `${prefix}${process.pid}x${Date.now().toString(36)}x${++sequence}`;

export interface TestUser {
  id: string;
  username: string;
  password: string;
  roleId: string;
  token: string;
}

/** A real user row with a real token; passwords hash with the production argon2id settings. */
export async function createUser(
  deps: ServiceDeps,
  options: { role?: RoleName; username?: string; password?: string; isActive?: boolean; fullName?: string } = {},
): Promise<TestUser> {
  const roles = await roleIdsByName(deps.db);
  const roleId = roles[options.role ?? ROLE_NAMES.salesRep];
  if (!roleId) throw new Error(`no role ${options.role}`);
  const password = options.password ?? DEFAULT_TEST_PASSWORD;
  defaultHash ??= hashPassword(DEFAULT_TEST_PASSWORD);
  const passwordHash = password === DEFAULT_TEST_PASSWORD ? await defaultHash : await hashPassword(password);
  const username = options.username ?? unique('user');
  const [row] = await deps.db
    .insert(schema.users)
    .values({
      username,
      passwordHash,
      fullName: options.fullName ?? `Test ${username}`,
      roleId,
      isActive: options.isActive ?? true,
    })
    .returning({ id: schema.users.id });
  const id = (row as { id: string }).id;
  const { token } = await issueToken(deps.jwtKey, deps.config, { userId: id, tokenVersion: 0 }, deps.now());
  return { id, username, password, roleId, token };
}

/** The seeded default admin, with a fresh token. */
export async function adminUser(deps: ServiceDeps): Promise<TestUser> {
  const [row] = await deps.db
    .select({ id: schema.users.id, roleId: schema.users.roleId, tokenVersion: schema.users.tokenVersion })
    .from(schema.users)
    .where(sql`lower(${schema.users.username}) = ${DEFAULT_ADMIN_USERNAME}`);
  if (!row) throw new Error('seeded admin missing');
  const { token } = await issueToken(
    deps.jwtKey,
    deps.config,
    { userId: row.id, tokenVersion: row.tokenVersion },
    deps.now(),
  );
  return { id: row.id, username: DEFAULT_ADMIN_USERNAME, password: 'Admin123!', roleId: row.roleId, token };
}

/** One user per seeded role, for authorization matrices. */
export async function createTeam(deps: ServiceDeps) {
  const [rep, otherRep, manager] = await Promise.all([
    createUser(deps, { role: ROLE_NAMES.salesRep }),
    createUser(deps, { role: ROLE_NAMES.salesRep }),
    createUser(deps, { role: ROLE_NAMES.salesManager }),
  ]);
  return { rep, otherRep, manager, admin: await adminUser(deps) };
}

export async function deactivateUser(deps: ServiceDeps, id: string) {
  await deps.db.update(schema.users).set({ isActive: false }).where(eq(schema.users.id, id));
}

let phoneSequence = 0;
/** A unique US number in E.164 that libphonenumber accepts as valid (area 202, exchanges 500–599). */
export const uniquePhone = () => {
  phoneSequence += 1;
  const n = (process.pid * 1000 + phoneSequence) % 1_000_000;
  return `+12025${String(n).padStart(6, '0')}`;
};

/** A real customer row owned by `ownerId`; bypasses the service for speed in setup. */
/** What a test may give a customer that lives in customer_rfm (the RFM job's row), by the old names. */
export interface CustomerRfmValues {
  levelId?: string | null | undefined;
  rfmRecency?: number | null;
  rfmFrequency?: number | null;
  rfmMonetary?: number | null;
  rfmScore?: number | null;
  rfmSegment?: string | null;
  rfmScoredAt?: Date | null;
}

export type CustomerValues = Partial<typeof schema.customers.$inferInsert> & CustomerRfmValues;

/** A real customer row (and its customer_rfm row when given a level or scores); bypasses the service. */
export async function insertCustomer(deps: ServiceDeps, ownerId: string, values: CustomerValues = {}) {
  const { levelId, rfmRecency, rfmFrequency, rfmMonetary, rfmScore, rfmSegment, rfmScoredAt, ...customer } = values;
  const [row] = await deps.db
    .insert(schema.customers)
    .values({ firstName: 'Ada', lastName: unique('Lovelace'), phone: uniquePhone(), ownerId, ...customer })
    .returning();
  if (!row) throw new Error('customer insert failed');
  const rfm = {
    levelId: levelId ?? null,
    recency: rfmRecency ?? null,
    frequency: rfmFrequency ?? null,
    monetary: rfmMonetary ?? null,
    score: rfmScore ?? null,
    segment: rfmSegment ?? null,
    scoredAt: rfmScoredAt ?? null,
  };
  if (Object.values(rfm).some((value) => value !== null))
    await deps.db.insert(schema.customerRfm).values({ customerId: row.id, ...rfm, updatedAt: row.updatedAt });
  return { ...row, levelId: rfm.levelId, rfmScore: rfm.score, rfmSegment: rfm.segment };
}

/** A customer's row with its RFM state under the old names, as tests read them. */
export async function customerWithRfm(deps: ServiceDeps, id: string) {
  const [row] = await deps.db.select().from(schema.customers).where(eq(schema.customers.id, id));
  if (!row) throw new Error(`no customer ${id}`);
  const [rfm] = await deps.db.select().from(schema.customerRfm).where(eq(schema.customerRfm.customerId, id));
  return {
    ...row,
    levelId: rfm?.levelId ?? null,
    rfmRecency: rfm?.recency ?? null,
    rfmFrequency: rfm?.frequency ?? null,
    rfmMonetary: rfm?.monetary ?? null,
    rfmScore: rfm?.score ?? null,
    rfmSegment: rfm?.segment ?? null,
    rfmScoredAt: rfm?.scoredAt ?? null,
    rfmUpdatedAt: rfm?.updatedAt ?? null,
  };
}

/** Everything the RFM job keeps per customer, keyed by customer id (updated_at aside: its own rule). */
export async function rfmRowsById(deps: ServiceDeps) {
  const rows = await deps.db.select().from(schema.customerRfm).orderBy(schema.customerRfm.customerId);
  return Object.fromEntries(rows.map(({ updatedAt: _, customerId, ...rest }) => [customerId, rest]));
}

/** A real product row; bypasses the service for speed in setup. */
export async function insertProduct(deps: ServiceDeps, values: Partial<typeof schema.products.$inferInsert> = {}) {
  const [row] = await deps.db
    .insert(schema.products)
    .values({ sku: unique('SKU-'), name: 'Test product', unitPrice: 1000, ...values })
    .returning();
  if (!row) throw new Error('product insert failed');
  return row;
}

/** A real promotion row (MANUAL, 10% off unless told otherwise); bypasses the service. */
export async function insertPromotion(deps: ServiceDeps, values: Partial<typeof schema.promotions.$inferInsert> = {}) {
  const [row] = await deps.db
    .insert(schema.promotions)
    .values({
      name: unique('Promotion '),
      discountType: 'PERCENTAGE',
      discountValue: 10,
      conditionType: 'MANUAL',
      ...values,
    })
    .returning();
  if (!row) throw new Error('promotion insert failed');
  return row;
}

/** Campaign messages the carrier already took for `customer`, one at each of `times` (what the frequency cap counts). */
export async function insertSentMarketing(deps: ServiceDeps, customer: { id: string; phone: string }, times: Date[]) {
  if (times.length === 0) return;
  await deps.db.insert(schema.messageQueue).values(
    times.map((time) => ({
      customerId: customer.id,
      phone: customer.phone,
      body: 'Earlier news',
      type: 'CAMPAIGN' as const,
      status: 'SENT' as const,
      scheduledFor: time,
      sentAt: time,
      idempotencyKey: unique('sent:'),
    })),
  );
}
