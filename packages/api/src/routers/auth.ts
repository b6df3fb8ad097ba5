import {
  changePasswordInput,
  currentUserSchema,
  loginInput,
  loginOutput,
  okSchema,
  registerInput,
  userSchema,
} from '@touch-crm/contract';
import { changePassword, login, registerUser, toCurrentUser } from '@touch-crm/services';
import { z } from 'zod';
import { rest } from '../openapi-meta.ts';
import { permissionProcedure, publicProcedure, router, signedInProcedure } from '../trpc.ts';

export const authRouter = router({
  login: publicProcedure
    .meta(rest('POST', '/auth/login', 'auth', 'Sign in with username and password', { protect: false }))
    .input(loginInput)
    .output(loginOutput)
    .mutation(async ({ ctx, input }) => {
      const result = await login(ctx.deps, { ...input, ip: ctx.ip });
      if (result.user.mustChangePassword)
        ctx.log.warn({ userId: result.user.id }, 'signed in with the default password; change it');
      return result;
    }),

  register: permissionProcedure('users:create')
    .meta(rest('POST', '/auth/register', 'auth', 'Create a user with a role (administrators)', { successStatus: 201 }))
    .input(registerInput)
    .output(userSchema)
    .mutation(({ ctx, input }) => registerUser(ctx.deps, ctx.caller, input)),

  me: signedInProcedure
    .meta(rest('GET', '/auth/me', 'auth', 'The signed-in user with role and permissions'))
    .input(z.void())
    .output(currentUserSchema)
    .query(({ ctx }) => toCurrentUser(ctx.caller.user)),

  changePassword: signedInProcedure
    .meta(rest('POST', '/auth/change-password', 'auth', 'Change own password; older tokens stop working'))
    .input(changePasswordInput)
    .output(okSchema)
    .mutation(async ({ ctx, input }) => {
      await changePassword(ctx.deps, ctx.caller, { ...input, ip: ctx.ip });
      return { ok: true as const };
    }),
});
