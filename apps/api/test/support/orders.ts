import type { PlacedOrder } from '@touch-crm/contract';
import { schema } from '@touch-crm/db';
import { insertPromotion, type TestApi } from '@touch-crm/test-utils';
import { and, eq } from 'drizzle-orm';

export const MISSING_ID = '00000000-0000-4000-8000-000000000000';
export const DAY = 86_400_000;

type Token = { token: string };

/** The order tests' helpers, bound to the file's API (started in its beforeAll). */
export function orderHelpers(apiOf: () => TestApi) {
  const placeOrder = (user: Token, body: object) => apiOf().rest('POST', '/orders', { token: user.token, body });
  const customerOf = async (id: string) =>
    (await apiOf().deps.db.select().from(schema.customers).where(eq(schema.customers.id, id)))[0];
  const holdings = (customerId: string, promotionId: string) =>
    apiOf()
      .deps.db.select()
      .from(schema.customerPromotions)
      .where(
        and(
          eq(schema.customerPromotions.customerId, customerId),
          eq(schema.customerPromotions.promotionId, promotionId),
        ),
      );
  const earned = (res: { body: PlacedOrder }, promotionId: string) =>
    res.body.assignedPromotions.filter((cp) => cp.promotion.id === promotionId);
  async function assignTo(customerId: string, values: Parameters<typeof insertPromotion>[1] = {}) {
    const promotion = await insertPromotion(apiOf().deps, values);
    const [held] = await apiOf()
      .deps.db.insert(schema.customerPromotions)
      .values({ customerId, promotionId: promotion.id, source: 'MANUAL' })
      .returning();
    return { promotion, held: held as typeof schema.customerPromotions.$inferSelect };
  }
  return { placeOrder, customerOf, holdings, earned, assignTo };
}
