import { type Executor, schema } from '@touch-crm/db';
import { desc, eq, lte } from 'drizzle-orm';
import type { AuthUser } from '../actor.ts';
import { ForbiddenError, ValidationError } from '../errors.ts';

const { customerLevels } = schema;

/** The level an RFM score gives, as the RFM job picks it (null when never scored or none reached). */
async function levelOfScore(executor: Executor, score: number | null): Promise<string | null> {
  if (score === null) return null;
  const [level] = await executor
    .select({ id: customerLevels.id })
    .from(customerLevels)
    .where(lte(customerLevels.minRfmScore, score))
    .orderBy(desc(customerLevels.minRfmScore), desc(customerLevels.rank))
    .limit(1);
  return level?.id ?? null;
}

/**
 * What `levelId` in a customer edit writes. Setting a level by hand needs `customers:set_level`;
 * the level applies at once and is kept as the manual level, a floor: the RFM job may raise the
 * customer above it, never below. `null` clears the floor and returns the customer to the level
 * their last RFM score gives (none if never scored). The customer's current level sent back
 * unchanged (a form resubmitted whole) is no change for a caller without the permission; a
 * holder of it pins that level as the floor.
 */
export async function manualLevelChange(
  executor: Executor,
  user: AuthUser,
  before: { levelId: string | null; manualLevelId: string | null; rfmScore: number | null },
  levelId: string | null | undefined,
): Promise<{ levelId?: string | null; manualLevelId?: string | null }> {
  if (levelId === undefined || (levelId === before.manualLevelId && levelId === before.levelId)) return {};
  const maySetLevel = user.permissions.has('customers:set_level');
  if (!maySetLevel && levelId === before.levelId) return {};
  if (!maySetLevel) throw new ForbiddenError('Setting levelId by hand needs the customers:set_level permission');
  if (levelId === null) return { levelId: await levelOfScore(executor, before.rfmScore), manualLevelId: null };
  const [level] = await executor
    .select({ id: customerLevels.id })
    .from(customerLevels)
    .where(eq(customerLevels.id, levelId));
  if (!level) throw ValidationError.field('levelId', 'unknown customer level');
  return { levelId, manualLevelId: levelId };
}
