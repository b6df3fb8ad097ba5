import type { PermissionKey } from '@touch-crm/contract';

/** A signed-in user as every procedure sees it: loaded fresh on each request. */
export interface AuthUser {
  id: string;
  username: string;
  fullName: string;
  email: string | null;
  roleId: string;
  roleName: string;
  permissions: ReadonlySet<PermissionKey>;
  mustChangePassword: boolean;
  /** Set when the request came with an API key: the user is its creator, `permissions` the key's share. */
  apiKeyId?: string;
}

/** Who caused a change: a user, or a background job by name. */
export type Actor = { kind: 'user'; userId: string } | { kind: 'job'; name: string };

export const userActor = (user: { id: string }): Actor => ({ kind: 'user', userId: user.id });
export const jobActor = (name: string): Actor => ({ kind: 'job', name });
