import type { ServiceDeps } from '@touch-crm/services';
import type { Credentials } from './authorize.ts';

export interface Logger {
  info: (object: object, message?: string) => void;
  warn: (object: object, message?: string) => void;
  error: (object: object, message?: string) => void;
}

/** Built per request by the transport (tRPC, REST or a plain route), identical for all. */
export interface Context {
  deps: ServiceDeps;
  requestId: string;
  ip: string;
  /** Read from the request by credentialsOf, verified only by procedures that need a user. */
  credentials: Credentials | undefined;
  log: Logger;
}
