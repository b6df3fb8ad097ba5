import {
  createTaskInput,
  idSchema,
  listTasksInput,
  myTasksInput,
  REASON,
  setTaskStatusInput,
  taskPage,
  taskSchema,
  taskSyncPage,
  updateTaskInput,
} from '@touch-crm/contract';
import { createTask, getTask, listMyTasks, listTasks, setTaskStatus, updateTask } from '@touch-crm/services';
import { z } from 'zod';
import { rest } from '../openapi-meta.ts';
import { permissionProcedure, router } from '../trpc.ts';

// The REST mirror matches routes in the order procedures appear here: `/tasks/my-tasks`
// must come before `/tasks/{id}`, or "my-tasks" would be read as an id.
export const tasksRouter = router({
  create: permissionProcedure('tasks:create')
    .meta(
      rest('POST', '/tasks', 'tasks', 'Create a task, optionally recurring (assigning others needs tasks:assign)', {
        description:
          'Creates a task, optionally on a project and a customer, optionally recurring (`recurrence`: DAILY, WEEKLY or MONTHLY with an interval and an optional end; a due date is required, and a daily job creates each next occurrence once the latest is due). The assignee defaults to the caller; assigning someone else needs `tasks:assign`. Needs `tasks:create`.',
        successStatus: 201,
      }),
    )
    .input(createTaskInput)
    .output(taskSchema)
    .mutation(({ ctx, input }) => createTask(ctx.deps, ctx.caller, input)),

  myTasks: permissionProcedure('tasks:read')
    .meta(
      rest('GET', '/tasks/my-tasks', 'tasks', "The caller's tasks: overdue first, then by due date", {
        description:
          'The tasks assigned to the caller: overdue first (oldest due first), then by due date, undated last; filtered by status, project and due date, paginated. Needs `tasks:read`.',
      }),
    )
    .input(myTasksInput)
    .output(taskPage)
    .query(({ ctx, input }) => listMyTasks(ctx.deps, ctx.caller, input)),

  list: permissionProcedure('tasks:read')
    .meta(
      rest('GET', '/tasks', 'tasks', "Team view: tasks in the caller's scope (assignee, status, project, customer)", {
        description:
          "The team view: tasks in the caller's scope (`tasks:read_all`: everyone's; `tasks:read_own`: assigned to the caller), filtered by assignee, status, project, customer, due date, `search` and `updatedAfter`, with page or cursor pagination.",
      }),
    )
    .input(listTasksInput)
    .output(taskSyncPage)
    .query(({ ctx, input }) => listTasks(ctx.deps, ctx.caller, input)),

  get: permissionProcedure('tasks:read')
    .meta(
      rest('GET', '/tasks/{id}', 'tasks', 'Get a task', {
        description:
          "One task with its project, customer, assignee, due date, status and recurrence. Outside the caller's scope it is a 404. Needs `tasks:read`.",
      }),
    )
    .input(z.object({ id: idSchema }))
    .output(taskSchema)
    .query(({ ctx, input }) => getTask(ctx.deps, ctx.caller, input)),

  update: permissionProcedure('tasks:update')
    .meta(
      rest('PUT', '/tasks/{id}', 'tasks', 'Edit a task (not its status)', {
        description:
          'Changes the given fields of a task, not its status (see `PUT /tasks/{id}/status`). Reassigning needs `tasks:assign`; moving a recurring task onto the due time of another of its series is a 409 TASK_SERIES_SLOT_TAKEN. Needs `tasks:update` (`_own`: tasks assigned to the caller).',
        errors: { 409: [REASON.TASK_SERIES_SLOT_TAKEN] },
      }),
    )
    .input(updateTaskInput)
    .output(taskSchema)
    .mutation(({ ctx, input }) => updateTask(ctx.deps, ctx.caller, input)),

  setStatus: permissionProcedure('tasks:update')
    .meta(
      rest('PUT', '/tasks/{id}/status', 'tasks', 'Move a task: TODO ↔ IN_PROGRESS → DONE | CANCELLED', {
        description:
          "Moves a task: TODO ↔ IN_PROGRESS → DONE or CANCELLED. DONE and CANCELLED are closed; the only way back is to TODO with `reopen: true`. Closing sets completedAt (and puts a completed customer task on the customer's timeline), reopening clears it; asking for the current status changes nothing. Any other move is a 409 TASK_TRANSITION_NOT_ALLOWED with the allowed moves in `details`. Needs `tasks:update` (`_own`: the assignee).",
        errors: { 409: [REASON.TASK_TRANSITION_NOT_ALLOWED] },
      }),
    )
    .input(setTaskStatusInput)
    .output(taskSchema)
    .mutation(({ ctx, input }) => setTaskStatus(ctx.deps, ctx.caller, input)),
});
