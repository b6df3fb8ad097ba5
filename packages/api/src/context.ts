import type { ServiceDeps } from '@touch-crm/services';

export interface Logger {
  info: (object: object, message?: string) => void;
  warn: (object: object, message?: string) => void;
  error: (object: object, message?: string) => void;
}

/** Built per request by the transport (tRPC or REST), identical for both. */
export interface Context {
  deps: ServiceDeps;
  requestId: string;
  ip: string;
  /** The raw `Authorization` header, verified only by procedures that need a user. */
  authorization: string | undefined;
  /** The raw `X-Api-Key` header, the other way to send an API key. */
  apiKey?: string;
  log: Logger;
  /** Set by procedures for the REST mirror (e.g. 201 Created); tRPC ignores it. */
  response: { status?: number };
}
