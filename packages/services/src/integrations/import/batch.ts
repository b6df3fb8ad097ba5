import type { ImportRowError } from '@touch-crm/contract';
import { schema } from '@touch-crm/db';
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { ServiceDeps } from '../../deps.ts';
import { knownTimeZones } from '../../messaging/time-zone-names.ts';
import { type BeforeRow, classify, type ImportRun } from './classify.ts';
import type { ColumnMapping } from './columns.ts';
import { currentImporter } from './importer.ts';
import { type ParsedRow, parseRow } from './parse-row.ts';
import { type BatchOutcome, PhoneTakenMeanwhile, writeRows } from './write.ts';

const { customers, imports, users } = schema;

export interface ImportProgress {
  rowsRead: number;
  rowsTotal: number | null;
  created: number;
  updated: number;
  failed: number;
}

/** Another run of the same import committed a batch first (a job retried while the first still ran). */
export class Superseded extends Error {}

async function resolveOwners(deps: ServiceDeps, run: ImportRun, rows: ParsedRow[]) {
  const wanted = [
    ...new Set(rows.flatMap((row) => (row.ownerUsername === undefined ? [] : [row.ownerUsername.toLowerCase()]))),
  ].filter((name) => !run.owners.has(name));
  if (wanted.length === 0) return;
  const found = await deps.db
    .select({ id: users.id, key: sql<string>`lower(${users.username})` })
    .from(users)
    .where(and(inArray(sql`lower(${users.username})`, wanted), eq(users.isActive, true)));
  for (const name of wanted) run.owners.set(name, found.find((user) => user.key === name)?.id ?? null);
}

/** The rows' time zones the run has not looked up yet, looked up in one statement (a file uses a handful). */
async function resolveTimeZones(deps: ServiceDeps, run: ImportRun, rows: ParsedRow[]) {
  const wanted = [
    ...new Set(rows.flatMap((row) => (row.values.timeZone === undefined ? [] : [row.values.timeZone.toLowerCase()]))),
  ].filter((zone) => !run.timeZones.has(zone));
  if (wanted.length === 0) return;
  const found = await knownTimeZones(deps.db, wanted);
  for (const zone of wanted) run.timeZones.set(zone, found.get(zone) ?? null);
}

const existingColumns = {
  id: customers.id,
  firstName: customers.firstName,
  lastName: customers.lastName,
  phone: customers.phone,
  email: customers.email,
  birthday: customers.birthday,
  gender: customers.gender,
  address: customers.address,
  notes: customers.notes,
  status: customers.status,
  // The import never sets a level (customer_rfm's), so the lookup need not read it.
  levelId: sql<string | null>`null::uuid`,
  ownerId: customers.ownerId,
  referredById: customers.referredById,
  smsOptIn: customers.smsOptIn,
  timeZone: customers.timeZone,
};

/** One batch: validated in memory, then one transaction for its rows, its errors and the counters. */
export async function importBatch(
  deps: ServiceDeps,
  run: ImportRun,
  records: { fields: string[]; rowNumber: number }[],
  columns: ColumnMapping[],
  rowsReadBefore: number,
  previous: Promise<unknown>,
): Promise<ImportProgress> {
  const rows: ParsedRow[] = [];
  const invalid: ImportRowError[] = [];
  for (const record of records) {
    const { row, errors } = parseRow(record.fields, columns, record.rowNumber, deps.config.DEFAULT_PHONE_REGION);
    if (!row) {
      invalid.push(...errors);
      continue;
    }
    const first = run.phones.get(row.phone);
    if (first !== undefined) {
      invalid.push({ rowNumber: row.rowNumber, field: 'phone', message: `the same phone as row ${first}` });
      continue;
    }
    run.phones.set(row.phone, row.rowNumber);
    rows.push(row);
  }
  await resolveOwners(deps, run, rows);
  await resolveTimeZones(deps, run, rows);

  for (let attempt = 1; ; attempt++) {
    try {
      const importer = await currentImporter(deps, run.as);
      return await deps.db.transaction(async (tx) => {
        const now = run.now();
        const phones = rows.map((row) => row.phone);
        const lookup = tx
          .select(existingColumns)
          .from(customers)
          .where(and(sql`${customers.phone} = any(${`{${phones.join(',')}}`}::text[])`, isNull(customers.deletedAt)));
        const found = run.dryRun ? await lookup : await lookup.for('no key update');
        const existing = new Map(found.map((customer) => [customer.phone, customer as BeforeRow]));
        const { ops, errors } = classify(run, importer, rows, existing);
        let outcome: BatchOutcome = {
          created: ops.filter((op) => op.kind === 'create').length,
          updated: ops.filter((op) => op.kind === 'update').length,
          errors: [],
        };
        if (!run.dryRun && ops.length > 0) outcome = await writeRows({ tx, jobs: deps.jobs }, ops, importer.actor, now);
        const all = [...invalid, ...errors, ...outcome.errors].sort((a, b) => a.rowNumber - b.rowNumber);
        if (all.length > 0)
          await tx.execute(sql`
            insert into import_errors (import_id, row_number, field, message)
            select ${run.id}::uuid, e.row_number, e.field, e.message
              from jsonb_to_recordset(${JSON.stringify(all.map((e) => ({ row_number: e.rowNumber, field: e.field, message: e.message })))}::jsonb)
                as e(row_number int, field text, message text)`);
        const failed = new Set(all.map((error) => error.rowNumber)).size;
        // Batches commit in file order: this one's rows are written, now wait for the one before.
        await previous;
        const [progress] = await tx
          .update(imports)
          .set({
            rowsRead: sql`${imports.rowsRead} + ${records.length}`,
            created: sql`${imports.created} + ${outcome.created}`,
            updated: sql`${imports.updated} + ${outcome.updated}`,
            failed: sql`${imports.failed} + ${failed}`,
            updatedAt: now,
          })
          .where(and(eq(imports.id, run.id), eq(imports.rowsRead, rowsReadBefore)))
          .returning({
            rowsRead: imports.rowsRead,
            rowsTotal: imports.rowsTotal,
            created: imports.created,
            updated: imports.updated,
            failed: imports.failed,
          });
        if (!progress) throw new Superseded();
        return progress;
      });
    } catch (error) {
      if (!(error instanceof PhoneTakenMeanwhile) || attempt >= 3) throw error;
    }
  }
}
