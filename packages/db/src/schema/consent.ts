import { consentActions, consentPurposes, consentSources } from '@touch-crm/contract';
import { bigint, index, jsonb, pgEnum, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { users } from './auth.ts';
import { id, now, timestamptz } from './columns.ts';
import { customers } from './customers.ts';

export const consentPurpose = pgEnum('consent_purpose', consentPurposes);
export const consentAction = pgEnum('consent_action', consentActions);
export const consentSource = pgEnum('consent_source', consentSources);

/**
 * The consent record: one row per change of a customer's SMS consent, never updated or deleted
 * (a trigger refuses both). `customers.sms_opt_in` is the latest marketing row, written in the
 * same transaction; this table is the proof of when, how and on whose word it changed.
 */
export const consentEvents = pgTable(
  'consent_events',
  {
    id: id(),
    /** Order of writing: entries of one instant (one transaction) keep their order. */
    seq: bigint({ mode: 'number' }).notNull().generatedAlwaysAsIdentity(),
    customerId: uuid()
      .notNull()
      .references(() => customers.id),
    purpose: consentPurpose().notNull(),
    action: consentAction().notNull(),
    source: consentSource().notNull(),
    actorUserId: uuid().references(() => users.id),
    actorJob: text(),
    evidence: jsonb().notNull().default({}),
    occurredAt: timestamptz().notNull().default(now),
  },
  (t) => [index('consent_events_customer_idx').on(t.customerId, t.purpose, t.occurredAt)],
);
