import {
  createTaskInput,
  idSchema,
  listTasksInput,
  myTasksInput,
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
        successStatus: 201,
      }),
    )
    .input(createTaskInput)
    .output(taskSchema)
    .mutation(({ ctx, input }) => createTask(ctx.deps, ctx.caller, input)),

  myTasks: permissionProcedure('tasks:read')
    .meta(rest('GET', '/tasks/my-tasks', 'tasks', "The caller's tasks: overdue first, then by due date"))
    .input(myTasksInput)
    .output(taskPage)
    .query(({ ctx, input }) => listMyTasks(ctx.deps, ctx.caller, input)),

  list: permissionProcedure('tasks:read')
    .meta(
      rest('GET', '/tasks', 'tasks', "Team view: tasks in the caller's scope (assignee, status, project, customer)"),
    )
    .input(listTasksInput)
    .output(taskSyncPage)
    .query(({ ctx, input }) => listTasks(ctx.deps, ctx.caller, input)),

  get: permissionProcedure('tasks:read')
    .meta(rest('GET', '/tasks/{id}', 'tasks', 'Get a task'))
    .input(z.object({ id: idSchema }))
    .output(taskSchema)
    .query(({ ctx, input }) => getTask(ctx.deps, ctx.caller, input)),

  update: permissionProcedure('tasks:update')
    .meta(rest('PUT', '/tasks/{id}', 'tasks', 'Edit a task (not its status)'))
    .input(updateTaskInput)
    .output(taskSchema)
    .mutation(({ ctx, input }) => updateTask(ctx.deps, ctx.caller, input)),

  setStatus: permissionProcedure('tasks:update')
    .meta(
      rest('PUT', '/tasks/{id}/status', 'tasks', 'Move a task: TODO ↔ IN_PROGRESS → DONE | CANCELLED', {
        description:
          'DONE and CANCELLED are closed; the only way back is to TODO with `reopen: true`. ' +
          'Closing sets completedAt, reopening clears it. Any other move is a 409.',
      }),
    )
    .input(setTaskStatusInput)
    .output(taskSchema)
    .mutation(({ ctx, input }) => setTaskStatus(ctx.deps, ctx.caller, input)),
});
