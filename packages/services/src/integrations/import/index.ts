/**
 * CSV import of customers.
 *
 * Upload (`createCustomerImport`): the file is decoded and its header mapped and rows counted
 * before anything is written; a bad file is refused whole. The file is stored on its `imports`
 * row and a `customers.import` job is queued in the same transaction.
 *
 * Run (`runCustomerImport`, the job): the records are read one batch at a time (IMPORT_BATCH).
 * Each batch is validated in memory first; then one transaction looks up the live customers with
 * the batch's phones, inserts the new ones with one INSERT … SELECT FROM jsonb_to_recordset,
 * updates the matched ones with one UPDATE … FROM jsonb_to_recordset, records their domain events
 * (set-based), writes the batch's row errors and advances the import's counters. Progress
 * commits with the rows it describes, so a retried job resumes after the last committed batch.
 */

export type { ImportProgress } from './batch.ts';
export * from './columns.ts';
export * from './run.ts';
export { getImport, getImportStatus } from './status.ts';
export * from './upload.ts';
