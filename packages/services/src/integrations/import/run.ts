import type { Import } from '@touch-crm/contract';
import { schema } from '@touch-crm/db';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { type Actor, userActor } from '../../actor.ts';
import type { ServiceDeps } from '../../deps.ts';
import { DomainError, ValidationError } from '../../errors.ts';
import { at } from '../../lib/sql.ts';
import { csvRecords, detectDelimiter } from '../csv-reader.ts';
import { type ImportProgress, importBatch, Superseded } from './batch.ts';
import type { ImportRun } from './classify.ts';
import { mapColumns } from './columns.ts';

const { imports } = schema;

/** Rows per batch: one transaction, one INSERT and one UPDATE each. */
export const IMPORT_BATCH = 1000;
/**
 * Batches in flight at once: the next batch is parsed, validated and written on a second
 * connection while the previous one finishes; commits stay in file order.
 */
const IMPORT_PIPELINE = 2;

export interface ImportRunOptions {
  /**
   * The operator CLI: rows are written with every customer in reach, the events carry this
   * actor, and new rows without ownerUsername belong to the import's creator. Without it the
   * creator's current permissions decide and the events carry the creator.
   */
  operator?: { actor: Actor };
  onProgress?: (progress: ImportProgress) => void;
}

export interface ImportRunResult extends ImportProgress {
  id: string;
  status: Import['status'] | 'SKIPPED';
  error?: string;
}

/**
 * Runs an import (the `customers.import` job, or the operator CLI in its own process): reads the
 * stored file one batch at a time after the rows already committed, then marks it COMPLETED and
 * drops the file. A failure that is not about one row stops it as FAILED with the reason.
 */
export async function runCustomerImport(
  deps: ServiceDeps,
  importId: string,
  options: ImportRunOptions = {},
): Promise<ImportRunResult> {
  const startedAt = deps.now();
  const [claimed] = await deps.db
    .update(imports)
    .set({ status: 'RUNNING', startedAt: sql`coalesce(${imports.startedAt}, ${at(startedAt)})`, updatedAt: startedAt })
    .where(and(eq(imports.id, importId), inArray(imports.status, ['QUEUED', 'RUNNING'])))
    .returning({
      dryRun: imports.dryRun,
      content: imports.content,
      createdById: imports.createdById,
      rowsRead: imports.rowsRead,
      rowsTotal: imports.rowsTotal,
      created: imports.created,
      updated: imports.updated,
      failed: imports.failed,
    });
  if (!claimed)
    return { id: importId, status: 'SKIPPED', rowsRead: 0, rowsTotal: null, created: 0, updated: 0, failed: 0 };
  let progress: ImportProgress = {
    rowsRead: claimed.rowsRead,
    rowsTotal: claimed.rowsTotal,
    created: claimed.created,
    updated: claimed.updated,
    failed: claimed.failed,
  };
  const finish = async (status: 'COMPLETED' | 'FAILED', error: string | null) => {
    const now = deps.now();
    await deps.db
      .update(imports)
      .set({ status, error, content: null, completedAt: now, updatedAt: now })
      .where(eq(imports.id, importId));
    return { id: importId, status, ...progress, ...(error ? { error } : {}) };
  };
  try {
    if (claimed.content === null) throw new DomainError('BAD_REQUEST', 'the uploaded file is no longer stored');
    const run: ImportRun = {
      id: importId,
      dryRun: claimed.dryRun,
      as: {
        userId: claimed.createdById,
        actor: options.operator?.actor ?? userActor({ id: claimed.createdById }),
        operator: options.operator !== undefined,
      },
      now: deps.now,
      phones: new Map(),
      owners: new Map(),
      timeZones: new Map(),
      zones: new Map(),
    };
    const records = csvRecords(claimed.content, detectDelimiter(claimed.content));
    const header = records.next();
    if (header.done) throw new DomainError('BAD_REQUEST', 'the file is empty');
    const columns = mapColumns(header.value.fields);
    options.onProgress?.(progress);
    const inFlight: Promise<void>[] = [];
    let rowNumber = 0;
    let batch: { fields: string[]; rowNumber: number }[] = [];
    let submitted = claimed.rowsRead;
    let previous: Promise<unknown> = Promise.resolve();
    const flush = async () => {
      const current = importBatch(deps, run, batch, columns, submitted, previous).then((next) => {
        progress = next;
        options.onProgress?.(next);
      });
      // Awaited below or in `inFlight`; marked handled so a failure is not reported twice.
      current.catch(() => {});
      submitted += batch.length;
      batch = [];
      previous = current;
      inFlight.push(current);
      if (inFlight.length >= IMPORT_PIPELINE) await inFlight.shift();
    };
    try {
      for (const record of records) {
        rowNumber++;
        // Rows a previous attempt committed are read past.
        if (rowNumber <= claimed.rowsRead) continue;
        batch.push({ fields: record.fields, rowNumber });
        if (batch.length === IMPORT_BATCH) await flush();
      }
      if (batch.length > 0) await flush();
      await Promise.all(inFlight);
    } finally {
      // No batch outlives the run, even when one failed.
      await Promise.allSettled(inFlight);
    }
    return await finish('COMPLETED', null);
  } catch (error) {
    if (error instanceof Superseded)
      return { id: importId, status: 'RUNNING', ...progress, error: 'another run of this import took over' };
    const message =
      error instanceof ValidationError
        ? error.issues.map((issue) => issue.message).join('; ')
        : error instanceof DomainError
          ? error.message
          : 'the import stopped on an unexpected error; the rows counted so far are saved';
    const result = await finish('FAILED', message);
    if (!(error instanceof DomainError)) throw error;
    return result;
  }
}
