import { z } from 'zod';
import { idSchema, isoDateTime, pageQuery, paginated, queryBoolean, safeString } from './common.ts';

export const roleRefSchema = z.object({ id: idSchema, name: z.string() });

export const userSchema = z
  .object({
    id: idSchema,
    username: z.string(),
    fullName: z.string(),
    email: z.string().nullable(),
    phone: z.string().nullable(),
    role: roleRefSchema,
    isActive: z.boolean(),
    mustChangePassword: z.boolean(),
    lastLoginAt: isoDateTime.nullable(),
    createdAt: isoDateTime,
    updatedAt: isoDateTime,
  })
  .meta({ id: 'User' });
export type User = z.infer<typeof userSchema>;

export const currentUserSchema = z
  .object({
    id: idSchema,
    username: z.string(),
    fullName: z.string(),
    email: z.string().nullable(),
    role: roleRefSchema,
    permissions: z.array(z.string()),
    mustChangePassword: z.boolean(),
  })
  .meta({ id: 'CurrentUser' });
export type CurrentUser = z.infer<typeof currentUserSchema>;

const username = safeString
  .trim()
  .min(3)
  .max(64)
  .regex(/^[a-zA-Z0-9._-]+$/, 'letters, digits, dot, underscore and dash only');
const password = safeString.min(8, 'at least 8 characters').max(256);

export const loginInput = z.object({
  username: safeString.trim().min(1).max(64).meta({ example: 'admin' }),
  password: safeString.min(1).max(256).meta({ example: 'Admin123!' }),
});
export const loginOutput = z
  .object({ token: z.string(), expiresAt: isoDateTime, user: currentUserSchema })
  .meta({ id: 'LoginResult' });
export type LoginResult = z.infer<typeof loginOutput>;

export const registerInput = z.object({
  username,
  password,
  fullName: safeString.trim().min(1).max(200),
  email: z.email().max(320).optional(),
  phone: safeString.trim().max(32).optional(),
  roleId: idSchema,
});
export type RegisterInput = z.infer<typeof registerInput>;

export const changePasswordInput = z.object({
  currentPassword: safeString.min(1).max(256),
  newPassword: password,
});
export type ChangePasswordInput = z.infer<typeof changePasswordInput>;

export const listUsersInput = z.object({
  ...pageQuery,
  search: safeString.trim().max(200).optional(),
  roleId: idSchema.optional(),
  isActive: queryBoolean.optional(),
  sort: z.enum(['username', 'fullName', 'createdAt', '-username', '-fullName', '-createdAt']).default('username'),
});
export type ListUsersInput = z.infer<typeof listUsersInput>;
export const userPage = paginated(userSchema);

export const updateUserInput = z.object({
  id: idSchema,
  fullName: safeString.trim().min(1).max(200).optional(),
  email: z.email().max(320).nullable().optional(),
  phone: safeString.trim().max(32).nullable().optional(),
  roleId: idSchema.optional(),
  isActive: z.boolean().optional(),
});
export type UpdateUserInput = z.infer<typeof updateUserInput>;

export const permissionSchema = z
  .object({ key: z.string(), resource: z.string(), action: z.string(), description: z.string() })
  .meta({ id: 'Permission' });
export type Permission = z.infer<typeof permissionSchema>;

export const roleSchema = z
  .object({
    id: idSchema,
    name: z.string(),
    description: z.string().nullable(),
    permissions: z.array(z.string()),
  })
  .meta({ id: 'Role' });
export type Role = z.infer<typeof roleSchema>;

export const setRolePermissionsInput = z.object({
  id: idSchema,
  permissions: z.array(safeString.min(1)).max(500),
});
export type SetRolePermissionsInput = z.infer<typeof setRolePermissionsInput>;
