import {
  calendarDate,
  customerStatusSchema,
  genderSchema,
  type ImportRowError,
  timeZoneSchema,
} from '@touch-crm/contract';
import { z } from 'zod';
import { parsePhone } from '../../commerce/phone.ts';
import type { ColumnMapping } from './columns.ts';

export type Status = z.infer<typeof customerStatusSchema>;
export type Gender = z.infer<typeof genderSchema>;

/** What a row sets: only the columns present in the file and non-empty in the row. */
export type RowValues = {
  firstName?: string;
  lastName?: string;
  email?: string;
  birthday?: string;
  gender?: Gender;
  address?: string;
  notes?: string;
  status?: Status;
  smsOptIn?: boolean;
  timeZone?: string;
  ownerId?: string;
};

export interface ParsedRow {
  rowNumber: number;
  phone: string;
  /** The phone's country, when the number tells it (a new customer's time zone comes from it). */
  phoneCountry?: string;
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
  // Checked against the server's zone names when the batch is classified, and kept in PostgreSQL's
  // spelling (`america/new_york` is America/New_York), as the API keeps it: not in the runtime's
  // canonical one, which would turn Europe/Kyiv into Europe/Kiev.
  timeZone: (value) => {
    if (!timeZoneSchema.safeParse(value).success)
      throw new CellError('expected an IANA time zone such as America/New_York');
    return value;
  },
};

/** The export prefixes `'` to a cell a spreadsheet would run as a formula, or that starts with `'`; take it off again. */
const DEFUSED = /^'(?=[=@+\-\t\r'])/;

export function parseRow(
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
  let phoneCountry: string | undefined;
  let ownerUsername: string | undefined;
  for (let index = 0; index < columns.length; index++) {
    const field = columns[index]?.field;
    if (!field) continue;
    const value = (fields[index] ?? '').replace(DEFUSED, '').trim();
    if (field === 'phone') {
      if (value === '') fail('phone', 'required: rows are matched by phone');
      else
        try {
          ({ phone, country: phoneCountry } = parsePhone(value, region));
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
  return errors.length > 0 ? { errors } : { row: { rowNumber, phone, phoneCountry, values, ownerUsername }, errors };
}
