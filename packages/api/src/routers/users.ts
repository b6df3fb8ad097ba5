import {
  idSchema,
  listUsersInput,
  permissionSchema,
  roleSchema,
  setRolePermissionsInput,
  updateUserInput,
  userPage,
  userSchema,
} from '@touch-crm/contract';
import { getUser, listPermissions, listRoles, listUsers, setRolePermissions, updateUser } from '@touch-crm/services';
import { z } from 'zod';
import { rest } from '../openapi-meta.ts';
import { permissionProcedure, router } from '../trpc.ts';

export const usersRouter = router({
  list: permissionProcedure('users:read')
    .meta(rest('GET', '/users', 'users', 'List users (search, role, active; paginated)'))
    .input(listUsersInput)
    .output(userPage)
    .query(({ ctx, input }) => listUsers(ctx.deps, input)),

  get: permissionProcedure('users:read')
    .meta(rest('GET', '/users/{id}', 'users', 'Get a user'))
    .input(z.object({ id: idSchema }))
    .output(userSchema)
    .query(({ ctx, input }) => getUser(ctx.deps, input.id)),

  update: permissionProcedure('users:update')
    .meta(rest('PUT', '/users/{id}', 'users', 'Edit a user: name, email, phone, role, active'))
    .input(updateUserInput)
    .output(userSchema)
    .mutation(({ ctx, input }) => updateUser(ctx.deps, ctx.caller, input)),
});

export const rolesRouter = router({
  list: permissionProcedure('roles:read')
    .meta(rest('GET', '/roles', 'roles', 'List roles with their permissions'))
    .input(z.void())
    .output(z.array(roleSchema))
    .query(({ ctx }) => listRoles(ctx.deps)),

  setPermissions: permissionProcedure('roles:update')
    .meta(rest('PUT', '/roles/{id}/permissions', 'roles', "Replace a role's permissions"))
    .input(setRolePermissionsInput)
    .output(roleSchema)
    .mutation(({ ctx, input }) => setRolePermissions(ctx.deps, ctx.caller, input)),
});

export const permissionsRouter = router({
  list: permissionProcedure('permissions:read')
    .meta(rest('GET', '/permissions', 'roles', 'List every permission'))
    .input(z.void())
    .output(z.array(permissionSchema))
    .query(({ ctx }) => listPermissions(ctx.deps)),
});
