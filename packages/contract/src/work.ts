import { z } from 'zod';
import {
  calendarDate,
  idSchema,
  isoDateTime,
  pageQuery,
  paginated,
  queryBoolean,
  safeString,
  syncPaginated,
  syncQuery,
} from './common.ts';

const name = safeString.trim().min(1).max(200);
const title = safeString.trim().min(1).max(300);
const longText = safeString.trim().max(20_000);
const search = safeString.trim().max(200);

// ───────────────────────────── projects ─────────────────────────────

export const projectStatuses = ['PLANNED', 'ACTIVE', 'ON_HOLD', 'COMPLETED', 'CANCELLED'] as const;
export const projectStatusSchema = z.enum(projectStatuses);

export const taskCountsSchema = z
  .object({
    TODO: z.number().int(),
    IN_PROGRESS: z.number().int(),
    DONE: z.number().int(),
    CANCELLED: z.number().int(),
    total: z.number().int(),
  })
  .meta({ id: 'TaskCounts' });
export type TaskCounts = z.infer<typeof taskCountsSchema>;

export const projectSchema = z
  .object({
    id: idSchema,
    name: z.string(),
    description: z.string().nullable(),
    customerId: idSchema.nullable(),
    ownerId: idSchema,
    status: projectStatusSchema,
    startDate: z.string().nullable().meta({ description: 'YYYY-MM-DD' }),
    dueDate: z.string().nullable().meta({ description: 'YYYY-MM-DD' }),
    /** Every task on the project, whoever it is assigned to. */
    taskCounts: taskCountsSchema,
    createdAt: isoDateTime,
    updatedAt: isoDateTime,
  })
  .meta({ id: 'Project' });
export type Project = z.infer<typeof projectSchema>;
export const projectPage = paginated(projectSchema);

const datesOrdered = (value: { startDate?: string | null; dueDate?: string | null }, ctx: z.RefinementCtx) => {
  if (value.startDate && value.dueDate && value.dueDate < value.startDate)
    ctx.addIssue({ code: 'custom', path: ['dueDate'], message: 'must not be before startDate' });
};

export const createProjectInput = z
  .object({
    name,
    description: longText.optional(),
    customerId: idSchema.optional(),
    ownerId: idSchema.optional().meta({ description: 'Defaults to the caller' }),
    status: projectStatusSchema.optional(),
    startDate: calendarDate.optional(),
    dueDate: calendarDate.optional(),
  })
  .superRefine(datesOrdered);
export type CreateProjectInput = z.infer<typeof createProjectInput>;

export const listProjectsInput = z.object({
  ...pageQuery,
  status: projectStatusSchema.optional(),
  customerId: idSchema.optional(),
  ownerId: idSchema.optional(),
  search: search.optional(),
  sort: z.enum(['name', 'createdAt', 'dueDate', '-name', '-createdAt', '-dueDate']).default('-createdAt'),
});
export type ListProjectsInput = z.infer<typeof listProjectsInput>;

export const updateProjectInput = z
  .object({
    id: idSchema,
    name: name.optional(),
    description: longText.nullable().optional(),
    customerId: idSchema.nullable().optional(),
    ownerId: idSchema.optional(),
    status: projectStatusSchema.optional(),
    startDate: calendarDate.nullable().optional(),
    dueDate: calendarDate.nullable().optional(),
  })
  .superRefine(datesOrdered);
export type UpdateProjectInput = z.infer<typeof updateProjectInput>;

// ─────────────────────────────── tasks ───────────────────────────────

export const taskStatuses = ['TODO', 'IN_PROGRESS', 'DONE', 'CANCELLED'] as const;
export const taskStatusSchema = z.enum(taskStatuses);
export type TaskStatus = z.infer<typeof taskStatusSchema>;
export const taskPriorities = ['LOW', 'MEDIUM', 'HIGH', 'URGENT'] as const;
export const taskPrioritySchema = z.enum(taskPriorities);
export const recurrenceFrequencies = ['DAILY', 'WEEKLY', 'MONTHLY'] as const;
export const recurrenceFrequencySchema = z.enum(recurrenceFrequencies);

export const recurrenceSchema = z
  .object({
    frequency: recurrenceFrequencySchema,
    interval: z.number().int(),
    until: isoDateTime.nullable(),
  })
  .meta({ id: 'Recurrence' });

export const recurrenceInput = z.object({
  frequency: recurrenceFrequencySchema,
  interval: z.number().int().min(1).max(366).default(1),
  until: isoDateTime.optional().meta({ description: 'No occurrence is due after this moment' }),
});

export const taskSchema = z
  .object({
    id: idSchema,
    title: z.string(),
    description: z.string().nullable(),
    projectId: idSchema.nullable(),
    customerId: idSchema.nullable(),
    assigneeId: idSchema,
    createdById: idSchema.nullable().meta({ description: 'Null for occurrences the scheduler created' }),
    status: taskStatusSchema,
    priority: taskPrioritySchema,
    dueAt: isoDateTime.nullable(),
    completedAt: isoDateTime.nullable(),
    overdue: z.boolean().meta({ description: 'Open (TODO or IN_PROGRESS) and past its due time' }),
    recurrence: recurrenceSchema.nullable(),
    seriesId: idSchema.nullable().meta({ description: "The series' first task; equal to id for that task" }),
    createdAt: isoDateTime,
    updatedAt: isoDateTime,
  })
  .meta({ id: 'Task' });
export type Task = z.infer<typeof taskSchema>;
export const taskPage = paginated(taskSchema);
export const taskSyncPage = syncPaginated(taskSchema);

export const createTaskInput = z
  .object({
    title,
    description: longText.optional(),
    projectId: idSchema.optional(),
    customerId: idSchema.optional().meta({ description: "Defaults to the project's customer" }),
    assigneeId: idSchema.optional().meta({ description: 'Defaults to the caller; others need tasks:assign' }),
    priority: taskPrioritySchema.optional(),
    dueAt: isoDateTime.optional(),
    recurrence: recurrenceInput.optional(),
  })
  .superRefine((value, ctx) => {
    if (value.recurrence && !value.dueAt)
      ctx.addIssue({ code: 'custom', path: ['dueAt'], message: 'a recurring task needs a due date' });
    if (value.recurrence?.until && value.dueAt && Date.parse(value.recurrence.until) < Date.parse(value.dueAt))
      ctx.addIssue({ code: 'custom', path: ['recurrence', 'until'], message: 'must not be before dueAt' });
  });
export type CreateTaskInput = z.infer<typeof createTaskInput>;

const taskFilters = {
  status: taskStatusSchema.optional(),
  projectId: idSchema.optional(),
  dueBefore: isoDateTime.optional().meta({ description: 'Due strictly before this moment' }),
  overdue: queryBoolean.optional().meta({ description: 'true: only overdue tasks; false: none of them' }),
};

export const myTasksInput = z.object({ ...pageQuery, ...taskFilters });
export type MyTasksInput = z.infer<typeof myTasksInput>;

export const listTasksInput = z.object({
  ...pageQuery,
  ...syncQuery,
  ...taskFilters,
  assigneeId: idSchema.optional(),
  customerId: idSchema.optional(),
  search: search.optional(),
  sort: z.enum(['dueAt', '-dueAt', 'createdAt', '-createdAt', 'priority', '-priority']).default('dueAt'),
});
export type ListTasksInput = z.infer<typeof listTasksInput>;

export const updateTaskInput = z.object({
  id: idSchema,
  title: title.optional(),
  description: longText.nullable().optional(),
  projectId: idSchema.nullable().optional(),
  customerId: idSchema.nullable().optional(),
  assigneeId: idSchema.optional(),
  priority: taskPrioritySchema.optional(),
  dueAt: isoDateTime.nullable().optional(),
  recurrenceUntil: isoDateTime
    .nullable()
    .optional()
    .meta({ description: 'Recurring tasks only: ends (or extends) the whole series' }),
});
export type UpdateTaskInput = z.infer<typeof updateTaskInput>;

export const setTaskStatusInput = z.object({
  id: idSchema,
  status: taskStatusSchema,
  reopen: z.boolean().optional().meta({ description: 'Required to move a DONE or CANCELLED task back to TODO' }),
});
export type SetTaskStatusInput = z.infer<typeof setTaskStatusInput>;

// ───────────────────────────── work logs ─────────────────────────────

/** What a user may log; SYSTEM entries are written by the platform only. */
export const workLogTypeSchema = z.enum(['CALL', 'MEETING', 'EMAIL', 'SMS', 'NOTE', 'VISIT', 'TASK']);
export const timelineEntryTypes = ['CALL', 'MEETING', 'EMAIL', 'SMS', 'NOTE', 'VISIT', 'TASK', 'SYSTEM'] as const;
export const timelineEntryTypeSchema = z.enum(timelineEntryTypes);

export const workLogSchema = z
  .object({
    id: idSchema,
    customerId: idSchema,
    userId: idSchema.nullable().meta({ description: 'Author; for SYSTEM entries the user who caused the event' }),
    type: timelineEntryTypeSchema,
    subject: z.string(),
    content: z.string().nullable(),
    occurredAt: isoDateTime,
    durationMinutes: z.number().int().nullable(),
    taskId: idSchema.nullable(),
    projectId: idSchema.nullable(),
    eventType: z.string().nullable().meta({ description: 'SYSTEM entries: the domain event, e.g. order.placed' }),
    details: z.record(z.string(), z.unknown()).nullable(),
    createdAt: isoDateTime,
  })
  .meta({ id: 'WorkLog' });
export type WorkLog = z.infer<typeof workLogSchema>;
export const workLogPage = paginated(workLogSchema);

export const createWorkLogInput = z.object({
  customerId: idSchema,
  type: workLogTypeSchema,
  subject: title,
  content: longText.optional(),
  occurredAt: isoDateTime.optional().meta({ description: 'Defaults to now; must not be in the future' }),
  durationMinutes: z.number().int().min(0).max(1440).optional(),
  taskId: idSchema.optional(),
  projectId: idSchema.optional().meta({ description: "Defaults to the task's project" }),
});
export type CreateWorkLogInput = z.infer<typeof createWorkLogInput>;

const periodOrdered = (value: { from?: string; to?: string }, ctx: z.RefinementCtx) => {
  if (value.from && value.to && Date.parse(value.to) < Date.parse(value.from))
    ctx.addIssue({ code: 'custom', path: ['to'], message: 'must not be before from' });
};

const period = {
  from: isoDateTime.optional().meta({ description: 'occurredAt ≥ from' }),
  to: isoDateTime.optional().meta({ description: 'occurredAt ≤ to' }),
};

export const listWorkLogsInput = z
  .object({
    ...pageQuery,
    customerId: idSchema.optional(),
    userId: idSchema.optional(),
    type: timelineEntryTypeSchema.optional().meta({ description: 'SYSTEM entries are listed only when asked for' }),
    taskId: idSchema.optional(),
    projectId: idSchema.optional(),
    ...period,
    sort: z.enum(['-occurredAt', 'occurredAt']).default('-occurredAt'),
  })
  .superRefine(periodOrdered);
export type ListWorkLogsInput = z.infer<typeof listWorkLogsInput>;

export const customerTimelineInput = z
  .object({
    id: idSchema.meta({ description: 'The customer' }),
    ...pageQuery,
    type: timelineEntryTypeSchema.optional(),
    ...period,
  })
  .superRefine(periodOrdered);
export type CustomerTimelineInput = z.infer<typeof customerTimelineInput>;

export const recurringTasksResultSchema = z.object({
  created: z.number().int(),
  taskIds: z.array(idSchema),
});
export type RecurringTasksResult = z.infer<typeof recurringTasksResultSchema>;
