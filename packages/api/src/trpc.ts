import { isPermissionKey, type RequiredPermission } from '@touch-crm/contract';
import {
  assertPasswordChanged,
  authenticateRequest,
  ForbiddenError,
  resolveScope,
  type Scope,
} from '@touch-crm/services';
import { initTRPC } from '@trpc/server';
import type { OpenApiMeta } from 'trpc-to-openapi';
import type { Context } from './context.ts';
import { formatError, toTRPCError } from './errors.ts';

export type Meta = OpenApiMeta & {
  /** HTTP status of a successful REST call, when not 200. */
  successStatus?: number;
};

const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    isDev: false,
    errorFormatter: ({ shape, error, ctx }) => formatError(shape, error, ctx?.requestId),
  });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

const base = t.procedure.use(async ({ ctx, meta, next }) => {
  const result = await next();
  if (!result.ok) throw toTRPCError(result.error);
  if (meta?.successStatus) ctx.response.status = meta.successStatus;
  return result;
});

/** Anyone, signed in or not (login). */
export const publicProcedure = base;

/**
 * Any signed-in, active user, including one who must still change the default password:
 * only `auth.me` and `auth.changePassword`. The context carries the user with fresh permissions.
 */
export const signedInProcedure = base.use(async ({ ctx, next }) => {
  const { authorization, apiKey, ip } = ctx;
  const user = await authenticateRequest(ctx.deps, { authorization, apiKey, ip });
  return next({ ctx: { user } });
});

/** Any signed-in, active user; in production not one who must change the password first. */
export const authedProcedure = signedInProcedure.use(({ ctx, next }) => {
  assertPasswordChanged(ctx.deps, ctx.user);
  return next();
});

/**
 * Users holding `permission`. For an owned resource action (`customers:read`) the
 * `_all` or `_own` variant grants it and the context carries the resulting scope;
 * for a plain permission the scope is `all`.
 */
export const permissionProcedure = (permission: RequiredPermission) =>
  authedProcedure.use(async ({ ctx, next }) => {
    let scope: Scope | null;
    if (isPermissionKey(permission)) scope = ctx.user.permissions.has(permission) ? { kind: 'all' } : null;
    else scope = resolveScope(ctx.user.permissions, permission, ctx.user.id);
    if (!scope) throw new ForbiddenError();
    return next({ ctx: { scope } });
  });
