import { randomUUID } from 'node:crypto';
import {
  calendarDate,
  customerStatusSchema,
  type GetImportInput,
  genderSchema,
  type Import,
  type ImportAccepted,
  type ImportRowError,
  type PermissionKey,
} from '@touch-crm/contract';
import { type Executor, schema } from '@touch-crm/db';
import { and, asc, count, eq, inArray, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type Actor, type AuthUser, userActor } from '../actor.ts';
import { CUSTOMER_AUDIT_FIELDS, updateEvents } from '../commerce/customers.ts';
import { normalizePhone } from '../commerce/phone.ts';
import type { ServiceDeps } from '../deps.ts';
import { DomainError, NotFoundError, ValidationError } from '../errors.ts';
import type { EventContext } from '../events/reactions.ts';
import { type DomainEvent, diffFields, type FieldChanges } from '../events/record.ts';
import { recordEventsSet } from '../events/record-set.ts';
import { jobDb } from '../jobs/queue.ts';
import { resolveScope, type Scope } from '../scope.ts';
import { csvRecords, decodeCsv, detectDelimiter, fileError } from './csv-reader.ts';
import { CUSTOMER_EXPORT_COLUMNS } from './export.ts';

const { customers, imports, importErrors, users } = schema;

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

/** Rows per batch: one transaction, one INSERT and one UPDATE each. */
export const IMPORT_BATCH = 1000;
/**
 * Batches in flight at once: the next batch is parsed, validated and written on a second
 * connection while the previous one finishes; commits stay in file order.
 */
const IMPORT_PIPELINE = 2;

/** The columns the importer writes, in template order, with what each takes. */
const COLUMNS = {
  firstName: { example: 'Ada', help: 'required for a new customer; up to 100 characters' },
  lastName: { example: 'Lovelace', help: 'required for a new customer; up to 100 characters' },
  phone: {
    example: '+1 202 555 0123',
    help: 'required; matches an existing customer; without a country code it is read in DEFAULT_PHONE_REGION',
  },
  email: { example: 'ada@example.com', help: 'an email address' },
  birthday: { example: '1990-04-21', help: 'YYYY-MM-DD' },
  gender: { example: 'FEMALE', help: genderSchema.options.join(', ') },
  address: { example: '12 Analytical Way, London', help: 'up to 500 characters' },
  notes: { example: 'Met at the spring fair', help: 'up to 5000 characters' },
  status: { example: 'CUSTOMER', help: `${customerStatusSchema.options.join(', ')} (new customers: LEAD)` },
  smsOptIn: { example: 'true', help: 'true/false, yes/no or 1/0 (new customers: true)' },
  ownerUsername: {
    example: '',
    help: 'the owner; defaults to the importer; another user needs customers:create_all (and customers:update_all to reassign)',
  },
} as const;

export type ImportField = keyof typeof COLUMNS;
export const CUSTOMER_IMPORT_COLUMNS = Object.keys(COLUMNS) as ImportField[];
/** Export columns the importer reads past (derived or system values), so an export imports back. */
export const CUSTOMER_IMPORT_IGNORED_COLUMNS = CUSTOMER_EXPORT_COLUMNS.filter(
  (column) => !Object.hasOwn(COLUMNS, column),
);
export const CUSTOMER_IMPORT_COLUMN_HELP: Record<ImportField, string> = Object.fromEntries(
  CUSTOMER_IMPORT_COLUMNS.map((field) => [field, COLUMNS[field].help]),
) as Record<ImportField, string>;

/** Header matching ignores case, spaces, underscores, hyphens and dots: `First Name` is `firstName`. */
const headerKey = (name: string) => name.toLowerCase().replace(/[\s_.-]+/g, '');
const HEADER_KEYS = new Map<string, ImportField | null>([
  ...CUSTOMER_IMPORT_IGNORED_COLUMNS.map((column) => [headerKey(column), null] as const),
  ...CUSTOMER_IMPORT_COLUMNS.map((field) => [headerKey(field), field] as const),
]);

export interface ColumnMapping {
  header: string;
  field: ImportField | null;
}

/** Maps each header cell to a field; unknown, duplicate or missing required columns refuse the file. */
export function mapColumns(header: readonly string[]): ColumnMapping[] {
  const mapping = header.map((raw) => {
    const name = raw.trim();
    const key = headerKey(name);
    return { header: name, field: HEADER_KEYS.get(key) ?? null, known: key === '' || HEADER_KEYS.has(key) };
  });
  if (!mapping.some((column) => column.field))
    throw fileError(
      `no header row: the first line must name the columns, such as ${CUSTOMER_IMPORT_COLUMNS.join(',')} (GET /api/v1/customers/import/template)`,
    );
  const issues: { path: string[]; message: string }[] = [];
  for (const column of mapping)
    if (!column.known)
      issues.push({
        path: ['header', column.header],
        message: `unknown column "${column.header}"; the columns are ${CUSTOMER_IMPORT_COLUMNS.join(', ')} (case and spaces do not matter)`,
      });
  const seen = new Set<ImportField>();
  for (const { header: name, field } of mapping) {
    if (!field) continue;
    if (seen.has(field)) issues.push({ path: ['header', name], message: `a second column for ${field}` });
    seen.add(field);
  }
  if (!seen.has('phone'))
    issues.push({ path: ['header', 'phone'], message: 'the phone column is required: rows are matched by phone' });
  if (issues.length > 0) throw new ValidationError(issues);
  return mapping.map(({ header: name, field }) => ({ header: name, field }));
}

/** The file is larger than an import takes: the API answers 413. */
export class ImportTooLargeError extends ValidationError {
  constructor(message: string) {
    super([{ path: ['file'], message }], 'PAYLOAD_TOO_LARGE');
    this.name = 'ImportTooLargeError';
  }
}

export interface InspectedCsv {
  delimiter: string;
  columns: ColumnMapping[];
  rows: number;
}

/** Decodes nothing and writes nothing: checks the header and counts the data rows of a decoded file. */
export function inspectCsv(text: string, maxRows: number): InspectedCsv {
  if (text.trim() === '') throw fileError('the file is empty');
  const delimiter = detectDelimiter(text);
  const records = csvRecords(text, delimiter);
  const first = records.next();
  if (first.done) throw fileError('the file is empty');
  const columns = mapColumns(first.value.fields);
  let rows = 0;
  for (const _ of records)
    if (++rows > maxRows)
      throw new ImportTooLargeError(`the file has more than ${maxRows} data rows; split it into several imports`);
  if (rows === 0) throw fileError('the file has a header row but no data rows');
  return { delimiter, columns, rows };
}

/** The template: the header row and one example row (CRLF, comma-separated). */
export function customerImportTemplate(ownerUsername = ''): string {
  const quote = (value: string) => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);
  const example = CUSTOMER_IMPORT_COLUMNS.map((field) =>
    quote(field === 'ownerUsername' ? ownerUsername : COLUMNS[field].example),
  );
  return `${CUSTOMER_IMPORT_COLUMNS.join(',')}\r\n${example.join(',')}\r\n`;
}

// ---------------------------------------------------------------------------------------------
// Rows

type Status = z.infer<typeof customerStatusSchema>;
type Gender = z.infer<typeof genderSchema>;

/** What a row sets: only the columns present in the file and non-empty in the row. */
type RowValues = {
  firstName?: string;
  lastName?: string;
  email?: string;
  birthday?: string;
  gender?: Gender;
  address?: string;
  notes?: string;
  status?: Status;
  smsOptIn?: boolean;
  ownerId?: string;
};

interface ParsedRow {
  rowNumber: number;
  phone: string;
  values: RowValues;
  ownerUsername?: string;
}

class CellError extends Error {}

const emailSchema = z.email();
const dateSchema = calendarDate;
const BOOLEANS: Record<string, boolean> = {
  true: true,
  yes: true,
  y: true,
  '1': true,
  false: false,
  no: false,
  n: false,
  '0': false,
};

const text = (max: number) => (value: string) => {
  if (value.length > max) throw new CellError(`at most ${max} characters`);
  return value;
};
const oneOf =
  <T extends string>(options: readonly T[]) =>
  (value: string): T => {
    const upper = value.toUpperCase() as T;
    if (!options.includes(upper)) throw new CellError(`expected one of ${options.join(', ')}`);
    return upper;
  };

const PARSERS: { [K in Exclude<keyof RowValues, 'ownerId'>]-?: (value: string) => NonNullable<RowValues[K]> } = {
  firstName: text(100),
  lastName: text(100),
  email: (value) => {
    if (value.length > 320 || !emailSchema.safeParse(value).success) throw new CellError('not a valid email address');
    return value;
  },
  birthday: (value) => {
    if (!dateSchema.safeParse(value).success) throw new CellError('expected a date as YYYY-MM-DD');
    return value;
  },
  gender: oneOf(genderSchema.options),
  address: text(500),
  notes: text(5000),
  status: oneOf(customerStatusSchema.options),
  smsOptIn: (value) => {
    const flag = BOOLEANS[value.toLowerCase()];
    if (flag === undefined) throw new CellError('expected true or false');
    return flag;
  },
};

/** The export prefixes `'` to a cell a spreadsheet would run as a formula; take it off again. */
const DEFUSED = /^'(?=[=@+\-\t\r])/;

function parseRow(
  fields: readonly string[],
  columns: readonly ColumnMapping[],
  rowNumber: number,
  region: string,
): { row?: ParsedRow; errors: ImportRowError[] } {
  const errors: ImportRowError[] = [];
  const fail = (field: string | null, message: string) => errors.push({ rowNumber, field, message });
  if (fields.length > columns.length && fields.slice(columns.length).some((cell) => cell.trim() !== ''))
    fail(null, `the row has ${fields.length} cells but the header has ${columns.length}`);
  const values: RowValues = {};
  let phone = '';
  let ownerUsername: string | undefined;
  for (let index = 0; index < columns.length; index++) {
    const field = columns[index]?.field;
    if (!field) continue;
    const value = (fields[index] ?? '').replace(DEFUSED, '').trim();
    if (field === 'phone') {
      if (value === '') fail('phone', 'required: rows are matched by phone');
      else
        try {
          phone = normalizePhone(value, region);
        } catch {
          fail('phone', `not a valid phone number: ${value.slice(0, 40)}`);
        }
      continue;
    }
    // An empty cell leaves the value as it is (a new customer gets the default).
    if (value === '') continue;
    if (field === 'ownerUsername') {
      ownerUsername = value;
      continue;
    }
    try {
      (values as Record<string, unknown>)[field] = PARSERS[field](value);
    } catch (error) {
      if (!(error instanceof CellError)) throw error;
      fail(field, error.message);
    }
  }
  return errors.length > 0 ? { errors } : { row: { rowNumber, phone, values, ownerUsername }, errors };
}

// ---------------------------------------------------------------------------------------------
// Upload

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
  user: { id: string },
  upload: ImportUpload,
  options: { enqueue?: boolean } = {},
): Promise<ImportAccepted> {
  if (upload.bytes.byteLength > deps.config.IMPORT_MAX_BYTES)
    throw new ImportTooLargeError(`the file is larger than ${deps.config.IMPORT_MAX_BYTES} bytes (IMPORT_MAX_BYTES)`);
  const content = decodeCsv(upload.bytes);
  const { columns, rows } = inspectCsv(content, deps.config.IMPORT_MAX_ROWS);
  const now = deps.now();
  const id = await deps.db.transaction(async (tx) => {
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
    if (options.enqueue !== false) await deps.jobs.send(jobDb(tx), 'customers.import', { importId });
    return importId;
  });
  return { ...(await loadImport(deps.db, id, { page: 1, pageSize: 100 })), columns };
}

// ---------------------------------------------------------------------------------------------
// Status

const importColumns = {
  id: imports.id,
  kind: imports.kind,
  status: imports.status,
  dryRun: imports.dryRun,
  filename: imports.filename,
  rowsTotal: imports.rowsTotal,
  rowsRead: imports.rowsRead,
  created: imports.created,
  updated: imports.updated,
  failed: imports.failed,
  error: imports.error,
  createdById: imports.createdById,
  createdByUsername: users.username,
  createdAt: imports.createdAt,
  startedAt: imports.startedAt,
  completedAt: imports.completedAt,
};

async function loadImport(
  executor: Executor,
  id: string,
  page: { page: number; pageSize: number },
  visible?: (createdById: string) => boolean,
): Promise<Import> {
  const [row] = await executor
    .select(importColumns)
    .from(imports)
    .innerJoin(users, eq(users.id, imports.createdById))
    .where(eq(imports.id, id));
  if (!row || (visible && !visible(row.createdById))) throw new NotFoundError('Import');
  const [items, totals] = await Promise.all([
    executor
      .select({ rowNumber: importErrors.rowNumber, field: importErrors.field, message: importErrors.message })
      .from(importErrors)
      .where(eq(importErrors.importId, id))
      .orderBy(asc(importErrors.rowNumber), sql`${importErrors.field} asc nulls first`, asc(importErrors.message))
      .limit(page.pageSize)
      .offset((page.page - 1) * page.pageSize),
    executor.select({ total: count() }).from(importErrors).where(eq(importErrors.importId, id)),
  ]);
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    dryRun: row.dryRun,
    filename: row.filename,
    rowsTotal: row.rowsTotal,
    rowsRead: row.rowsRead,
    created: row.created,
    updated: row.updated,
    unchanged: Math.max(0, row.rowsRead - row.created - row.updated - row.failed),
    failed: row.failed,
    error: row.error,
    createdBy: { id: row.createdById, username: row.createdByUsername },
    createdAt: row.createdAt.toISOString(),
    startedAt: row.startedAt?.toISOString() ?? null,
    completedAt: row.completedAt?.toISOString() ?? null,
    errors: { items, total: totals[0]?.total ?? 0, page: page.page, pageSize: page.pageSize },
  };
}

/** Administrators (who read the audit trail) see every import; anyone else only their own. */
const SEES_ALL_IMPORTS: PermissionKey = 'audit:read';

/** Progress, counters and a page of the row errors; someone else's import is "not found". */
export const getImport = (deps: ServiceDeps, user: AuthUser, input: GetImportInput): Promise<Import> =>
  loadImport(
    deps.db,
    input.id,
    input,
    (createdById) => createdById === user.id || user.permissions.has(SEES_ALL_IMPORTS),
  );

/** An import's status without a visibility check: for operator tools that already hold the database. */
export const getImportStatus = (deps: ServiceDeps, id: string, page = { page: 1, pageSize: 100 }): Promise<Import> =>
  loadImport(deps.db, id, page);

// ---------------------------------------------------------------------------------------------
// Run

export interface ImportProgress {
  rowsRead: number;
  rowsTotal: number | null;
  created: number;
  updated: number;
  failed: number;
}

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

interface Importer {
  id: string;
  actor: Actor;
  create: Scope | null;
  update: Scope | null;
}

/** The importing user as they are now: their permissions decide what the rows may do. */
async function loadImporter(deps: ServiceDeps, userId: string, operator?: { actor: Actor }): Promise<Importer> {
  const [row] = await deps.db.$client<{ is_active: boolean; permissions: PermissionKey[] }[]>`
    select u.is_active, coalesce(array_agg(p.key) filter (where p.key is not null), '{}') as permissions
      from users u
      left join role_permissions rp on rp.role_id = u.role_id
      left join permissions p on p.id = rp.permission_id
     where u.id = ${userId}
     group by u.id`;
  if (operator) return { id: userId, actor: operator.actor, create: { kind: 'all' }, update: { kind: 'all' } };
  const permissions = new Set(row?.permissions ?? []);
  if (!row?.is_active || !permissions.has('customers:import'))
    throw new DomainError('FORBIDDEN', 'the importing user is deactivated or may no longer import customers');
  return {
    id: userId,
    actor: userActor({ id: userId }),
    create: resolveScope(permissions, 'customers:create', userId),
    update: resolveScope(permissions, 'customers:update', userId),
  };
}

type AuditedRow = Record<(typeof CUSTOMER_AUDIT_FIELDS)[number], unknown>;
/** A new customer's audited fields, defaults filled in. */
type NewCustomer = {
  firstName: string;
  lastName: string;
  phone: string;
  email: string | null;
  birthday: string | null;
  gender: Gender | null;
  address: string | null;
  notes: string | null;
  status: Status;
  levelId: null;
  ownerId: string;
  referredById: null;
  smsOptIn: boolean;
};
type CreateOp = { kind: 'create'; rowNumber: number; id: string; row: NewCustomer };
type UpdateOp = { kind: 'update'; rowNumber: number; id: string; values: RowValues; changes: FieldChanges };
type WriteOp = CreateOp | UpdateOp;

/** A phone was taken by another transaction between our lookup and our insert: run the batch again. */
class PhoneTakenMeanwhile extends Error {}
/** Another run of the same import committed a batch first (a job retried while the first still ran). */
class Superseded extends Error {}

/** A database error about the row's data (SQLSTATE classes 22 and 23), not about the database. */
function dataError(error: unknown): string | null {
  const cause = (error as { cause?: unknown })?.cause ?? error;
  const pg = cause as { code?: unknown; message?: unknown };
  if (typeof pg?.code !== 'string' || !/^2[23]/.test(pg.code)) return null;
  return typeof pg.message === 'string' ? pg.message : pg.code;
}

const NEW_CUSTOMER_DEFAULTS = { status: 'LEAD' as Status, smsOptIn: true };

interface BatchOutcome {
  created: number;
  updated: number;
  errors: ImportRowError[];
}

/** Inserts, updates and their events; on a data error, halves the rows until the bad ones stand alone. */
async function writeRows(context: EventContext, ops: WriteOp[], actor: Actor, now: Date): Promise<BatchOutcome> {
  try {
    return await context.tx.transaction(async (savepoint) => applyRows({ ...context, tx: savepoint }, ops, actor, now));
  } catch (error) {
    const message = dataError(error);
    if (message === null) throw error;
    if (ops.length === 1) {
      const op = ops[0] as WriteOp;
      return {
        created: 0,
        updated: 0,
        errors: [{ rowNumber: op.rowNumber, field: null, message: `could not be saved: ${message}` }],
      };
    }
    const middle = ops.length >> 1;
    const first = await writeRows(context, ops.slice(0, middle), actor, now);
    const second = await writeRows(context, ops.slice(middle), actor, now);
    return {
      created: first.created + second.created,
      updated: first.updated + second.updated,
      errors: [...first.errors, ...second.errors],
    };
  }
}

const at = (instant: Date) => sql`${instant.toISOString()}::timestamptz`;

/** A new customer's audit changes, as `diffFields({}, customer, CUSTOMER_AUDIT_FIELDS)` gives them, from row `v`. */
const CREATED_CHANGES = sql.raw(
  `jsonb_build_object(${CUSTOMER_AUDIT_FIELDS.map((field) => {
    const column =
      field === 'levelId' || field === 'referredById'
        ? 'null'
        : `v.${field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`;
    return `'${field}', jsonb_build_object('before', null, 'after', ${column})`;
  }).join(', ')})`,
);

async function applyRows(context: EventContext, ops: WriteOp[], actor: Actor, now: Date): Promise<BatchOutcome> {
  const { tx } = context;
  const creates = ops.filter((op): op is CreateOp => op.kind === 'create');
  const updates = ops.filter((op): op is UpdateOp => op.kind === 'update');
  if (creates.length > 0) {
    const rows = creates.map(({ id, row }) => ({
      id,
      first_name: row.firstName,
      last_name: row.lastName,
      phone: row.phone,
      email: row.email,
      birthday: row.birthday,
      gender: row.gender,
      address: row.address,
      notes: row.notes,
      status: row.status,
      owner_id: row.ownerId,
      sms_opt_in: row.smsOptIn,
    }));
    // The customers in one statement, then their `customer.created` events in another, built
    // from the same values: the events' reactions (the welcome message) must see the customers.
    const values = sql`jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
      as v(id uuid, first_name text, last_name text, phone text, email text, birthday date, gender gender,
           address text, notes text, status customer_status, owner_id uuid, sms_opt_in boolean)`;
    const [result] = await tx.execute<{ inserted: number }>(sql`
      with ins as (
        insert into customers (id, first_name, last_name, phone, email, birthday, gender, address, notes, status,
                               owner_id, sms_opt_in, created_at, updated_at)
        select v.id, v.first_name, v.last_name, v.phone, v.email, v.birthday, v.gender, v.address, v.notes, v.status,
               v.owner_id, v.sms_opt_in, ${at(now)}, ${at(now)}
          from ${values}
        on conflict (phone) where deleted_at is null do nothing
        returning id
      )
      select count(*)::int as inserted from ins`);
    if (result?.inserted !== creates.length) throw new PhoneTakenMeanwhile();
    await recordEventsSet(
      context,
      sql`
      select 'customer.created' as type, 'customer' as entity_type, v.id as entity_id, v.id as customer_id,
             ${actor.kind === 'user' ? actor.userId : null}::uuid as actor_user_id,
             ${actor.kind === 'job' ? actor.name : null}::text as actor_job,
             jsonb_build_object('id', v.id, 'status', v.status, 'ownerId', v.owner_id, 'smsOptIn', v.sms_opt_in) as data,
             ${CREATED_CHANGES} as changes,
             'Customer created: ' || v.first_name || ' ' || v.last_name as subject,
             'Status ' || v.status || '; imported from CSV' as content,
             ${at(now)} as occurred_at
        from ${values}`,
    );
  }
  if (updates.length > 0) {
    const rows = updates.map(({ id, values: v }) => ({
      id,
      first_name: v.firstName,
      last_name: v.lastName,
      email: v.email,
      birthday: v.birthday,
      gender: v.gender,
      address: v.address,
      notes: v.notes,
      status: v.status,
      owner_id: v.ownerId,
      sms_opt_in: v.smsOptIn,
    }));
    // A missing key is null in the recordset: coalesce keeps the customer's value.
    await tx.execute(sql`
      update customers c
         set first_name = coalesce(v.first_name, c.first_name), last_name = coalesce(v.last_name, c.last_name),
             email = coalesce(v.email, c.email), birthday = coalesce(v.birthday, c.birthday),
             gender = coalesce(v.gender, c.gender), address = coalesce(v.address, c.address),
             notes = coalesce(v.notes, c.notes), status = coalesce(v.status, c.status),
             owner_id = coalesce(v.owner_id, c.owner_id), sms_opt_in = coalesce(v.sms_opt_in, c.sms_opt_in),
             updated_at = ${at(now)}
        from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
          as v(id uuid, first_name text, last_name text, email text, birthday date, gender gender, address text,
               notes text, status customer_status, owner_id uuid, sms_opt_in boolean)
       where c.id = v.id`);
  }
  const events: DomainEvent[] = [];
  for (const { id, values, changes } of updates)
    events.push(
      ...updateEvents(
        { entityType: 'customer', entityId: id, customerId: id, actor, data: { id, ...values }, occurredAt: now },
        changes,
        { before: null, after: null },
      ),
    );
  await recordEventsInOneStatement(context, events, now);
  return { created: creates.length, updated: updates.length, errors: [] };
}

/**
 * `recordEvents` for these events in one statement, through `recordEventsSet`: building a
 * thousand-row INSERT per table through the query builder cost more CPU than the database
 * spent on the whole batch.
 */
async function recordEventsInOneStatement(context: EventContext, events: DomainEvent[], now: Date): Promise<void> {
  if (events.length === 0) return;
  const rows = events.map((event) => ({
    type: event.type,
    entity_type: event.entityType,
    entity_id: event.entityId,
    customer_id: event.customerId ?? null,
    actor_user_id: event.actor.kind === 'user' ? event.actor.userId : null,
    actor_job: event.actor.kind === 'job' ? event.actor.name : null,
    data: event.data,
    changes: event.changes ?? null,
    subject: event.timeline?.subject ?? null,
    content: event.timeline?.content ?? null,
    occurred_at: (event.occurredAt ?? now).toISOString(),
  }));
  await recordEventsSet(
    context,
    sql`select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
          as e(type text, entity_type text, entity_id uuid, customer_id uuid, actor_user_id uuid, actor_job text,
               data jsonb, changes jsonb, subject text, content text, occurred_at timestamptz)`,
  );
}

interface ImportRun {
  id: string;
  dryRun: boolean;
  importer: Importer;
  now: () => Date;
  /** Phone → first row with it, across the file: a repeated phone is reported, not applied twice. */
  phones: Map<string, number>;
  /** Lower-cased username → active user id (null: unknown or inactive). */
  owners: Map<string, string | null>;
}

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

type BeforeRow = AuditedRow & { id: string; ownerId: string };

/** New, changed, unchanged or refused: decided against the customers as they are in this transaction. */
function classify(run: ImportRun, rows: ParsedRow[], existing: Map<string, BeforeRow>) {
  const { importer } = run;
  const ops: WriteOp[] = [];
  const errors: ImportRowError[] = [];
  for (const row of rows) {
    const fail = (field: string | null, message: string) => errors.push({ rowNumber: row.rowNumber, field, message });
    const values: RowValues = { ...row.values };
    if (row.ownerUsername !== undefined) {
      const ownerId = run.owners.get(row.ownerUsername.toLowerCase());
      if (!ownerId) {
        fail('ownerUsername', `unknown or inactive user: ${row.ownerUsername.slice(0, 60)}`);
        continue;
      }
      values.ownerId = ownerId;
    }
    const before = existing.get(row.phone);
    if (!before) {
      const ownerId = values.ownerId ?? importer.id;
      if (!importer.create) fail(null, 'you may not create customers');
      else if (importer.create.kind === 'own' && ownerId !== importer.id)
        fail('ownerUsername', 'only holders of customers:create_all may import customers for another owner');
      if (!values.firstName) fail('firstName', 'required for a new customer');
      if (!values.lastName) fail('lastName', 'required for a new customer');
      if (errors.at(-1)?.rowNumber === row.rowNumber) continue;
      const created: NewCustomer = {
        firstName: values.firstName as string,
        lastName: values.lastName as string,
        phone: row.phone,
        email: values.email ?? null,
        birthday: values.birthday ?? null,
        gender: values.gender ?? null,
        address: values.address ?? null,
        notes: values.notes ?? null,
        status: values.status ?? NEW_CUSTOMER_DEFAULTS.status,
        levelId: null,
        ownerId,
        referredById: null,
        smsOptIn: values.smsOptIn ?? NEW_CUSTOMER_DEFAULTS.smsOptIn,
      };
      ops.push({ kind: 'create', rowNumber: row.rowNumber, id: randomUUID(), row: created });
      continue;
    }
    const mine = before.ownerId === importer.id;
    if (!importer.update || (importer.update.kind === 'own' && !mine)) {
      fail('phone', 'a customer with this phone exists and you may not update them');
      continue;
    }
    if (values.ownerId !== undefined && values.ownerId !== before.ownerId && importer.update.kind === 'own') {
      fail('ownerUsername', 'only holders of customers:update_all may give a customer to another owner');
      continue;
    }
    const changes = diffFields(before, { ...before, ...values }, CUSTOMER_AUDIT_FIELDS);
    if (Object.keys(changes).length === 0) continue;
    const changed = Object.fromEntries(
      Object.entries(values).filter(([field]) => Object.hasOwn(changes, field)),
    ) as RowValues;
    ops.push({ kind: 'update', rowNumber: row.rowNumber, id: before.id, values: changed, changes });
  }
  return { ops, errors };
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
  levelId: customers.levelId,
  ownerId: customers.ownerId,
  referredById: customers.referredById,
  smsOptIn: customers.smsOptIn,
};

/** One batch: validated in memory, then one transaction for its rows, its errors and the counters. */
async function importBatch(
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

  for (let attempt = 1; ; attempt++) {
    try {
      return await deps.db.transaction(async (tx) => {
        const now = run.now();
        const phones = rows.map((row) => row.phone);
        const lookup = tx
          .select(existingColumns)
          .from(customers)
          .where(and(sql`${customers.phone} = any(${`{${phones.join(',')}}`}::text[])`, isNull(customers.deletedAt)));
        const found = run.dryRun ? await lookup : await lookup.for('no key update');
        const existing = new Map(found.map((customer) => [customer.phone, customer as BeforeRow]));
        const { ops, errors } = classify(run, rows, existing);
        let outcome: BatchOutcome = {
          created: ops.filter((op) => op.kind === 'create').length,
          updated: ops.filter((op) => op.kind === 'update').length,
          errors: [],
        };
        if (!run.dryRun && ops.length > 0)
          outcome = await writeRows({ tx, jobs: deps.jobs }, ops, run.importer.actor, now);
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
      importer: await loadImporter(deps, claimed.createdById, options.operator),
      now: deps.now,
      phones: new Map(),
      owners: new Map(),
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
