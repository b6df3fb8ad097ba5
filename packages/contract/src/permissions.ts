/**
 * The one list of permissions. The seed writes it to the database; roles hold
 * rows of it, so an admin can edit a role's permissions at run time.
 * `_own` limits an action to the caller's own records, `_all` extends it to everyone's.
 */
export const PERMISSIONS = {
  'users:create': 'Create users',
  'users:read': 'List and view users',
  'users:update': 'Edit users, their role and whether they are active',
  'roles:read': 'List roles with their permissions',
  'roles:update': "Edit a role's permissions",
  'permissions:read': 'List every permission',

  'customers:create_own': 'Create customers owned by oneself',
  'customers:create_all': 'Create customers for any owner',
  'customers:read_own': 'View own customers',
  'customers:read_all': 'View every customer',
  'customers:update_own': 'Edit own customers',
  'customers:update_all': 'Edit every customer',
  'customers:delete_own': 'Delete own customers',
  'customers:delete_all': 'Delete any customer',
  'customers:import': 'Import customers from CSV',
  'customers:export': 'Export customers to CSV',
  'customers:set_level': 'Set a customer level by hand: a floor the RFM job never goes below until cleared',
  'customer_levels:read': 'View customer levels',
  'customer_levels:update': 'Edit customer levels and their RFM thresholds',

  'products:create': 'Create products',
  'products:read': 'View the product catalogue',
  'products:update': 'Edit products',
  'products:delete': 'Delete or deactivate products',

  'orders:create_own': 'Place orders for own customers',
  'orders:create_all': 'Place orders for any customer',
  'orders:read_own': "View own customers' orders",
  'orders:read_all': 'View every order',
  'orders:cancel_own': "Cancel own customers' orders",
  'orders:cancel_all': 'Cancel any order',

  'promotions:create': 'Create promotions',
  'promotions:read': 'View promotions',
  'promotions:update': 'Edit promotions',
  'promotions:delete': 'Delete or deactivate promotions',
  'promotions:assign_own': 'Assign promotions to own customers',
  'promotions:assign_all': 'Assign promotions to any customer',
  'promotions:assign_manual': 'Assign MANUAL promotions (to the customers assign_own or assign_all reaches)',
  'promotions:assign_any': 'Assign active promotions of every condition type, not only MANUAL',

  'campaigns:create': 'Create SMS campaigns',
  'campaigns:read': 'View SMS campaigns',
  'campaigns:update': 'Edit and cancel SMS campaigns',
  'campaigns:execute': 'Execute SMS campaigns',
  'messages:read_own': 'View messages sent to own customers',
  'messages:read_all': 'View every message',
  'messages:send_own': 'Text own customers one to one',
  'messages:send_all': 'Text any customer one to one',
  'message_templates:read': 'View message templates',
  'message_templates:update': 'Edit message templates',

  'projects:create_own': 'Create projects owned by oneself',
  'projects:create_all': 'Create projects for any owner',
  'projects:read_own': 'View own projects and those of own customers',
  'projects:read_all': 'View every project',
  'projects:update_own': 'Edit own projects',
  'projects:update_all': 'Edit every project',

  'tasks:create': 'Create tasks',
  'tasks:assign': 'Assign tasks to other users',
  'tasks:read_own': 'View tasks assigned to oneself',
  'tasks:read_all': "View the team's tasks",
  'tasks:update_own': 'Edit and move tasks assigned to oneself',
  'tasks:update_all': 'Edit and move any task',

  'worklogs:create_own': 'Log activity on own customers',
  'worklogs:create_all': 'Log activity on any customer',
  'worklogs:read_own': 'View activity on own customers',
  'worklogs:read_all': 'View all activity',

  'jobs:read': 'View background jobs and their last runs',
  'jobs:run': 'Run a background job on demand',
  'audit:read': 'Read the audit trail',
  'events:read_own': 'Read the event feed of own customers',
  'events:read_all': 'Read the event feed of every record',
  'webhooks:manage': 'Manage outbound webhooks',
  'api_keys:manage_own': "Create, list and revoke own API keys (a key holds at most its creator's permissions)",
  'api_keys:manage_all': "List and revoke everyone's API keys",
} as const;

export type PermissionKey = keyof typeof PERMISSIONS;

/** A permission a procedure asks for: a plain key, or a resource action that `_own`/`_all` qualify. */
export type ScopedAction = {
  [K in PermissionKey]: K extends `${infer Base}_own` ? Base : never;
}[PermissionKey];
export type RequiredPermission = PermissionKey | ScopedAction;

export const ROLE_NAMES = {
  salesRep: 'Sales Representative',
  salesManager: 'Sales Manager',
  admin: 'Administrator',
} as const;

const salesRep: PermissionKey[] = [
  'customers:create_own',
  'customers:read_own',
  'customers:update_own',
  'customer_levels:read',
  'products:read',
  'orders:create_own',
  'orders:read_own',
  'orders:cancel_own',
  'promotions:read',
  'promotions:assign_own',
  'promotions:assign_manual',
  'messages:read_own',
  'messages:send_own',
  'projects:create_own',
  'projects:read_own',
  'projects:update_own',
  'tasks:create',
  'tasks:read_own',
  'tasks:update_own',
  'worklogs:create_own',
  'worklogs:read_own',
  'api_keys:manage_own',
];

const salesManager: PermissionKey[] = [
  'users:read',
  'roles:read',
  'permissions:read',
  'customers:create_all',
  'customers:read_all',
  'customers:update_all',
  'customers:delete_all',
  'customers:import',
  'customers:export',
  'customers:set_level',
  'customer_levels:read',
  'products:create',
  'products:read',
  'products:update',
  'products:delete',
  'orders:create_all',
  'orders:read_all',
  'orders:cancel_all',
  'promotions:create',
  'promotions:read',
  'promotions:update',
  'promotions:delete',
  'promotions:assign_all',
  'promotions:assign_any',
  'campaigns:create',
  'campaigns:read',
  'campaigns:update',
  'campaigns:execute',
  'messages:read_all',
  'messages:send_all',
  'message_templates:read',
  'projects:create_all',
  'projects:read_all',
  'projects:update_all',
  'tasks:create',
  'tasks:assign',
  'tasks:read_all',
  'tasks:update_all',
  'worklogs:create_all',
  'worklogs:read_all',
  'jobs:read',
  'events:read_all',
  'api_keys:manage_own',
];

/** The default role → permission matrix, applied when a role or permission first appears. */
export const DEFAULT_ROLE_PERMISSIONS: Record<string, readonly PermissionKey[]> = {
  [ROLE_NAMES.salesRep]: salesRep,
  [ROLE_NAMES.salesManager]: salesManager,
  [ROLE_NAMES.admin]: Object.keys(PERMISSIONS) as PermissionKey[],
};

export const ROLE_DESCRIPTIONS: Record<string, string> = {
  [ROLE_NAMES.salesRep]: 'Works their own customers, orders, projects and tasks',
  [ROLE_NAMES.salesManager]: 'Oversees the team: every customer, the catalogue, promotions and campaigns',
  [ROLE_NAMES.admin]: 'Full access, including users, roles and system settings',
};

export const isPermissionKey = (value: string): value is PermissionKey => Object.hasOwn(PERMISSIONS, value);
