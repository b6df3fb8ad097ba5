import { customerStatusSchema, genderSchema } from '@touch-crm/contract';
import { ValidationError } from '../../errors.ts';
import { csvRecords, detectDelimiter, fileError } from '../csv-reader.ts';
import { CUSTOMER_EXPORT_COLUMNS } from '../export.ts';

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
  timeZone: {
    example: 'America/New_York',
    help: 'an IANA time zone, for quiet hours (new customers: from the phone where its country keeps one clock)',
  },
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
