import type { ImportAccepted } from '@touch-crm/contract';
import { schema } from '@touch-crm/db';
import type { UserCaller } from '../../actor.ts';
import type { ServiceDeps } from '../../deps.ts';
import { jobDb } from '../../jobs/queue.ts';
import { decodeCsv } from '../csv-reader.ts';
import { ImportTooLargeError, inspectCsv } from './columns.ts';
import { loadImport } from './status.ts';

const { imports } = schema;

export interface ImportUpload {
  /** The file as uploaded; decoded here (UTF-8, BOM optional). */
  bytes: Uint8Array;
  filename?: string | null;
  dryRun: boolean;
}

/**
 * Checks the file (encoding, header, row count), stores it and queues its job, in one
 * transaction. Nothing is written when the file is refused. `enqueue: false` leaves the run to
 * the caller (the operator CLI runs it in its own process).
 */
export async function createCustomerImport(
  deps: ServiceDeps,
  { user }: UserCaller,
  { enqueue = true, ...upload }: ImportUpload & { enqueue?: boolean },
): Promise<ImportAccepted> {
  if (upload.bytes.byteLength > deps.config.IMPORT_MAX_BYTES)
    throw new ImportTooLargeError(`the file is larger than ${deps.config.IMPORT_MAX_BYTES} bytes (IMPORT_MAX_BYTES)`);
  const content = decodeCsv(upload.bytes);
  const { columns, rows } = inspectCsv(content, deps.config.IMPORT_MAX_ROWS);
  const now = deps.now();
  // Read back inside the transaction: once it commits a worker may already be running the import.
  const accepted = await deps.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(imports)
      .values({
        kind: 'customers',
        dryRun: upload.dryRun,
        filename: upload.filename ?? null,
        content,
        rowsTotal: rows,
        createdById: user.id,
        createdAt: now,
        updatedAt: now,
      })
      .returning({ id: imports.id });
    const importId = (row as { id: string }).id;
    if (enqueue) await deps.jobs.send(jobDb(tx), 'customers.import', { importId });
    return loadImport(tx, importId, { page: 1, pageSize: 100 });
  });
  return { ...accepted, columns };
}
