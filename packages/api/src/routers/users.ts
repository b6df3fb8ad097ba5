import {
  idSchema,
  listUsersInput,
  permissionSchema,
  REASON,
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
    .meta(
      rest('GET', '/users', 'users', 'List users (search, role, active; paginated)', {
        description:
          'Staff accounts, filtered by `search`, role and active flag, sorted and paginated. Needs `users:read` (administrators).',
      }),
    )
    .input(listUsersInput)
    .output(userPage)
    .query(({ ctx, input }) => listUsers(ctx.deps, input)),

  get: permissionProcedure('users:read')
    .meta(
      rest('GET', '/users/{id}', 'users', 'Get a user', {
        description:
          'One staff account with its role, active flag and whether it must still change its password. Needs `users:read`.',
      }),
    )
    .input(z.object({ id: idSchema }))
    .output(userSchema)
    .query(({ ctx, input }) => getUser(ctx.deps, input.id)),

  update: permissionProcedure('users:update')
    .meta(
      rest('PUT', '/users/{id}', 'users', 'Edit a user: name, email, phone, role, active', {
        description:
          'Changes the given fields of a staff account: name, email, phone, role, active. Deactivating a user or changing their role takes effect on their next request, API keys included. Refused when afterwards no active user could still manage users and roles (409 LAST_ADMIN). Needs `users:update`.',
        errors: { 409: [REASON.EMAIL_TAKEN, REASON.LAST_ADMIN] },
      }),
    )
    .input(updateUserInput)
    .output(userSchema)
    .mutation(({ ctx, input }) => updateUser(ctx.deps, ctx.caller, input)),
});

export const rolesRouter = router({
  list: permissionProcedure('roles:read')
    .meta(
      rest('GET', '/roles', 'roles', 'List roles with their permissions', {
        description:
          'Every role (Administrator, Sales Manager, Sales Representative) with the permission keys it grants. Needs `roles:read`.',
      }),
    )
    .input(z.void())
    .output(z.array(roleSchema))
    .query(({ ctx }) => listRoles(ctx.deps)),

  setPermissions: permissionProcedure('roles:update')
    .meta(
      rest('PUT', '/roles/{id}/permissions', 'roles', "Replace a role's permissions", {
        description:
          'Replaces the whole set of permissions of a role; users holding it get the new set on their next request. Unknown permission keys are a 400 naming each; taking away the last role able to manage users and roles is a 409 LAST_ADMIN. Needs `roles:update` (administrators).',
        errors: { 409: [REASON.LAST_ADMIN] },
      }),
    )
    .input(setRolePermissionsInput)
    .output(roleSchema)
    .mutation(({ ctx, input }) => setRolePermissions(ctx.deps, ctx.caller, input)),
});

export const permissionsRouter = router({
  list: permissionProcedure('permissions:read')
    .meta(
      rest('GET', '/permissions', 'roles', 'List every permission', {
        description:
          'Every permission key (`resource:action`, with `_own`/`_all` variants for owned records) and what it allows. Needs `permissions:read`.',
      }),
    )
    .input(z.void())
    .output(z.array(permissionSchema))
    .query(({ ctx }) => listPermissions(ctx.deps)),
});
