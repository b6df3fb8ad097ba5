import {
  createProjectInput,
  idSchema,
  listProjectsInput,
  projectPage,
  projectSchema,
  updateProjectInput,
} from '@touch-crm/contract';
import { createProject, getProject, listProjects, updateProject } from '@touch-crm/services';
import { z } from 'zod';
import { rest } from '../openapi-meta.ts';
import { permissionProcedure, router } from '../trpc.ts';

export const projectsRouter = router({
  create: permissionProcedure('projects:create')
    .meta(
      rest('POST', '/projects', 'projects', 'Create a project (owner defaults to the caller)', {
        description:
          'Creates a project, optionally for a customer. The owner defaults to the caller; naming another owner needs `projects:create_all`. Needs `projects:create`.',
        successStatus: 201,
      }),
    )
    .input(createProjectInput)
    .output(projectSchema)
    .mutation(({ ctx, input }) => createProject(ctx.deps, ctx.caller, input)),

  list: permissionProcedure('projects:read')
    .meta(
      rest('GET', '/projects', 'projects', "List projects in the caller's scope (status, customer, owner, search)", {
        description:
          "Projects in the caller's scope (`projects:read_own`: own projects and those of own customers), filtered by status, customer, owner and search, sorted and paginated.",
      }),
    )
    .input(listProjectsInput)
    .output(projectPage)
    .query(({ ctx, input }) => listProjects(ctx.deps, ctx.caller, input)),

  get: permissionProcedure('projects:read')
    .meta(
      rest('GET', '/projects/{id}', 'projects', 'Get a project with its task counts by status', {
        description:
          "One project with its task counts by status. Outside the caller's scope it is a 404. Needs `projects:read`.",
      }),
    )
    .input(z.object({ id: idSchema }))
    .output(projectSchema)
    .query(({ ctx, input }) => getProject(ctx.deps, ctx.caller, input)),

  update: permissionProcedure('projects:update')
    .meta(
      rest('PUT', '/projects/{id}', 'projects', 'Edit a project', {
        description:
          'Changes the given fields of a project; a status change is audited. Handing it to another owner needs `projects:update_all`. Needs `projects:update`.',
      }),
    )
    .input(updateProjectInput)
    .output(projectSchema)
    .mutation(({ ctx, input }) => updateProject(ctx.deps, ctx.caller, input)),
});
