import type { KeyObject } from 'node:crypto';
import type { Config } from '@touch-crm/config';
import type { Database } from '@touch-crm/db';
import type { JobQueue } from '@touch-crm/jobs';
import type { RolePermissionCache } from './auth/role-permissions.ts';
import type { SessionCache } from './auth/session-cache.ts';
import type { VerifiedTokens } from './auth/tokens.ts';

/** What every service verb needs; built once per process. */
export interface ServiceDeps {
  db: Database;
  /** The exports' own small pool, so long-running cursors never hold the request pool's connections; `db` when unset. */
  exportDb?: Database;
  config: Config;
  /** Injected so tests and schedules can control time. */
  now: () => Date;
  jwtKey: Uint8Array;
  /** The API's key for list sync cursors (`deriveCursorKey(jwtKey)`, once); without it each cursor-mode request derives it. */
  cursorKey?: KeyObject;
  /** The API's cache of tokens whose signature was verified; without it every request verifies its token. */
  verifiedTokens?: VerifiedTokens;
  /** The API's cache of role permission sets by (role, version); without it each request reads its role's set. */
  rolePermissions?: RolePermissionCache;
  /**
   * The API's session rows by user id, dropped on LISTEN/NOTIFY and trusted only while its heartbeat
   * comes back; without it every request reads its user and role. Verbs that change what a session
   * holds `fence()` on it after their commit.
   */
  sessionCache?: SessionCache;
  /** Puts jobs on pg-boss queues through a transaction of `db` (packages/jobs; services/src/jobs/queue.ts). */
  jobs: JobQueue;
}
