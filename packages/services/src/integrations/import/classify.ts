import { randomUUID } from 'node:crypto';
import type { ImportRowError } from '@touch-crm/contract';
import type { Actor } from '../../actor.ts';
import { CUSTOMER_AUDIT_FIELDS } from '../../commerce/customers.ts';
import { diffFields } from '../../events/record.ts';
import { timeZoneOfCountry } from '../../messaging/phone-lookup.ts';
import type { Scope } from '../../scope.ts';
import type { ImportAs } from './importer.ts';
import type { ParsedRow, RowValues, Status } from './parse-row.ts';
import type { NewCustomer, WriteOp } from './write.ts';

export interface Importer {
  id: string;
  actor: Actor;
  create: Scope | null;
  update: Scope | null;
}

export interface ImportRun {
  id: string;
  dryRun: boolean;
  /** Whose permissions decide, read again in each batch's transaction. */
  as: ImportAs;
  now: () => Date;
  /** Phone → first row with it, across the file: a repeated phone is reported, not applied twice. */
  phones: Map<string, number>;
  /** Lower-cased username → active user id (null: unknown or inactive). */
  owners: Map<string, string | null>;
  /** Lower-cased time zone of a cell → PostgreSQL's spelling of it (null: a zone the server does not know). */
  timeZones: Map<string, string | null>;
  /** Country → the time zone of its phones (null: several clocks), for new customers without a timeZone. */
  zones: Map<string, string | null>;
}

/** What an import may change and records: the audited fields and the time zone. */
export const IMPORT_AUDIT_FIELDS = [...CUSTOMER_AUDIT_FIELDS, 'timeZone'] as const;
type AuditedRow = Record<(typeof IMPORT_AUDIT_FIELDS)[number], unknown>;
export type BeforeRow = AuditedRow & { id: string; ownerId: string };

const NEW_CUSTOMER_DEFAULTS = { status: 'LEAD' as Status, smsOptIn: true };

/** New, changed, unchanged or refused: decided against the customers as they are in this transaction. */
export function classify(run: ImportRun, importer: Importer, rows: ParsedRow[], existing: Map<string, BeforeRow>) {
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
    if (values.timeZone !== undefined) {
      const timeZone = run.timeZones.get(values.timeZone.toLowerCase());
      if (!timeZone) {
        fail('timeZone', 'expected an IANA time zone such as America/New_York');
        continue;
      }
      values.timeZone = timeZone;
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
        timeZone: values.timeZone ?? (row.phoneCountry ? timeZoneOfCountry(row.phoneCountry, run.zones) : null),
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
    const changes = diffFields(before, { ...before, ...values }, IMPORT_AUDIT_FIELDS);
    if (Object.keys(changes).length === 0) continue;
    const changed = Object.fromEntries(
      Object.entries(values).filter(([field]) => Object.hasOwn(changes, field)),
    ) as RowValues;
    ops.push({ kind: 'update', rowNumber: row.rowNumber, id: before.id, values: changed, changes });
  }
  return { ops, errors };
}
