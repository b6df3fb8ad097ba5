import { sql } from 'drizzle-orm';
import { type AnyPgColumn, check, date, index, integer, jsonb, pgTable, text, unique, uuid } from 'drizzle-orm/pg-core';
import { users } from './auth.ts';
import { id, now, timestamps, timestamptz } from './columns.ts';
import { customers } from './customers.ts';
import { projectStatus, recurrenceFrequency, taskPriority, taskStatus, workLogType } from './enums.ts';
import { domainEvents } from './events.ts';

export const projects = pgTable(
  'projects',
  {
    id: id(),
    name: text().notNull(),
    description: text(),
    customerId: uuid().references(() => customers.id),
    ownerId: uuid()
      .notNull()
      .references(() => users.id),
    status: projectStatus().notNull().default('PLANNED'),
    startDate: date({ mode: 'string' }),
    dueDate: date({ mode: 'string' }),
    ...timestamps,
  },
  (t) => [
    index('projects_owner_idx').on(t.ownerId),
    index('projects_customer_idx').on(t.customerId),
    index('projects_status_idx').on(t.status),
    check(
      'projects_dates_ordered',
      sql`${t.startDate} is null or ${t.dueDate} is null or ${t.dueDate} >= ${t.startDate}`,
    ),
  ],
);

export const tasks = pgTable(
  'tasks',
  {
    id: id(),
    title: text().notNull(),
    description: text(),
    projectId: uuid().references(() => projects.id),
    customerId: uuid().references(() => customers.id),
    assigneeId: uuid()
      .notNull()
      .references(() => users.id),
    createdById: uuid().references(() => users.id),
    status: taskStatus().notNull().default('TODO'),
    priority: taskPriority().notNull().default('MEDIUM'),
    dueAt: timestamptz(),
    completedAt: timestamptz(),
    recurrenceFrequency: recurrenceFrequency(),
    recurrenceInterval: integer(),
    recurrenceUntil: timestamptz(),
    /** The first task of a recurring series; occurrences point at it. */
    seriesId: uuid().references((): AnyPgColumn => tasks.id),
    ...timestamps,
  },
  (t) => [
    index('tasks_updated_id_idx').on(t.updatedAt, t.id),
    index('tasks_assignee_status_due_idx').on(t.assigneeId, t.status, t.dueAt),
    index('tasks_project_idx').on(t.projectId),
    index('tasks_customer_idx').on(t.customerId),
    index('tasks_status_idx').on(t.status),
    unique('tasks_series_occurrence_key').on(t.seriesId, t.dueAt),
    check('tasks_recurrence_interval_positive', sql`${t.recurrenceInterval} is null or ${t.recurrenceInterval} >= 1`),
    check('tasks_recurrence_complete', sql`(${t.recurrenceFrequency} is null) = (${t.recurrenceInterval} is null)`),
  ],
);

export const workLogs = pgTable(
  'work_logs',
  {
    id: id(),
    customerId: uuid()
      .notNull()
      .references(() => customers.id),
    /** Author; null for entries the system writes. */
    userId: uuid().references(() => users.id),
    type: workLogType().notNull(),
    subject: text().notNull(),
    content: text(),
    occurredAt: timestamptz().notNull().default(now),
    durationMinutes: integer(),
    taskId: uuid().references(() => tasks.id),
    projectId: uuid().references(() => projects.id),
    /** For SYSTEM entries: the domain event they show. */
    eventId: uuid().references(() => domainEvents.id),
    eventType: text(),
    details: jsonb(),
    ...timestamps,
  },
  (t) => [
    index('work_logs_customer_occurred_idx').on(t.customerId, t.occurredAt),
    index('work_logs_user_idx').on(t.userId),
    index('work_logs_type_idx').on(t.type),
    index('work_logs_occurred_idx').on(t.occurredAt),
    check('work_logs_duration_nonnegative', sql`${t.durationMinutes} is null or ${t.durationMinutes} >= 0`),
  ],
);
