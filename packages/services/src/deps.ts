import type { Config } from '@touch-crm/config';
import type { Database } from '@touch-crm/db';

/** What every service verb needs; built once per process. */
export interface ServiceDeps {
  db: Database;
  config: Config;
  /** Injected so tests and schedules can control time. */
  now: () => Date;
  jwtKey: Uint8Array;
}
