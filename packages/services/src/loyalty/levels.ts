import { type CustomerLevel, REASON, type UpdateCustomerLevelInput } from '@touch-crm/contract';
import { schema } from '@touch-crm/db';
import { asc, eq } from 'drizzle-orm';
import { actorOf, type Caller } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { ConflictError, isUniqueViolation, NotFoundError, ValidationError } from '../errors.ts';
import { diffFields, recordEvent } from '../events/record.ts';

const { customerLevels } = schema;
const FIELDS = ['name', 'minRfmScore', 'description'] as const;

function toLevel(row: typeof customerLevels.$inferSelect): CustomerLevel {
  return {
    id: row.id,
    name: row.name,
    rank: row.rank,
    minRfmScore: row.minRfmScore,
    description: row.description,
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** Every level, lowest rank first: their ids are what the customer list's `levelId` filter takes. */
export async function listCustomerLevels(deps: ServiceDeps): Promise<CustomerLevel[]> {
  const rows = await deps.db.select().from(customerLevels).orderBy(asc(customerLevels.rank));
  return rows.map(toLevel);
}

/**
 * Renames a level or moves its threshold. Thresholds must rise strictly with rank, or a level
 * could never be reached; the levels are locked so two concurrent edits cannot cross. Customers
 * move at the next `rfm.score` run, not here.
 */
export async function updateCustomerLevel(
  deps: ServiceDeps,
  caller: Caller,
  input: UpdateCustomerLevelInput,
): Promise<CustomerLevel> {
  const actor = actorOf(caller);
  const { id, ...fields } = input;
  return deps.db
    .transaction(async (tx) => {
      const levels = await tx.select().from(customerLevels).orderBy(asc(customerLevels.rank)).for('update');
      const index = levels.findIndex((level) => level.id === id);
      const before = levels[index];
      if (!before) throw new NotFoundError('Customer level');
      if (fields.minRfmScore !== undefined) {
        const below = levels[index - 1]?.minRfmScore ?? -1;
        const above = levels[index + 1]?.minRfmScore;
        if (fields.minRfmScore <= below || (above !== undefined && fields.minRfmScore >= above))
          throw ValidationError.field(
            'minRfmScore',
            `must lie above the level below (${below < 0 ? 'none' : below}) and below the level above (${above ?? 'none'})`,
          );
      }
      const values = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
      if (Object.keys(values).length === 0) return toLevel(before);
      const [after] = await tx.update(customerLevels).set(values).where(eq(customerLevels.id, id)).returning();
      const level = toLevel(after as typeof customerLevels.$inferSelect);
      const changes = diffFields(toLevel(before), level, FIELDS);
      if (Object.keys(changes).length > 0)
        await recordEvent(
          { tx, jobs: deps.jobs },
          { type: 'customer_level.updated', entityType: 'customer_level', entityId: id, actor, data: level, changes },
        );
      return level;
    })
    .catch((error: unknown) => {
      if (isUniqueViolation(error)) throw new ConflictError(REASON.LEVEL_NAME_TAKEN, 'Another level has this name');
      throw error;
    });
}
