import type { DeleteResult } from '@touch-crm/contract';
import type { Transaction } from '@touch-crm/db';

const isForeignKeyViolation = (error: unknown) =>
  ((error as { cause?: { code?: string } })?.cause ?? (error as { code?: string }))?.code === '23503';

/**
 * Deletes a row unless something still references it, in which case it is deactivated
 * and the history stays intact. The foreign keys decide, inside a savepoint, so a
 * reference committed a moment earlier by another transaction is respected too.
 */
export async function deleteOrDeactivate(
  tx: Transaction,
  id: string,
  remove: (savepoint: Transaction) => Promise<unknown>,
  deactivate: () => Promise<unknown>,
): Promise<DeleteResult> {
  try {
    await tx.transaction(remove);
    return { id, outcome: 'DELETED' };
  } catch (error) {
    if (!isForeignKeyViolation(error)) throw error;
    await deactivate();
    return { id, outcome: 'DEACTIVATED' };
  }
}
