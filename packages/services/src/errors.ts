import { type ErrorReason, REASON } from '@touch-crm/contract';
import { isDatabaseUnavailable } from '@touch-crm/db';

/** Errors services throw; the transport maps each kind to one status code. */
export type DomainErrorKind =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'TOO_MANY_REQUESTS'
  | 'SERVICE_UNAVAILABLE';

export interface FieldIssue {
  path: (string | number)[];
  message: string;
}

export interface DomainErrorFacts {
  /** Which cause of its status this is (packages/contract ERROR_REASONS), for a client to switch on. */
  reason?: ErrorReason;
  /** Safe to show to the caller. */
  details?: Record<string, unknown>;
}

export class DomainError extends Error {
  readonly kind: DomainErrorKind;
  readonly reason?: ErrorReason;
  readonly details?: Record<string, unknown>;

  constructor(kind: DomainErrorKind, message: string, facts: DomainErrorFacts = {}) {
    super(message);
    this.name = 'DomainError';
    this.kind = kind;
    this.reason = facts.reason;
    this.details = facts.details;
  }
}

export class ValidationError extends DomainError {
  readonly issues: FieldIssue[];

  /** `PAYLOAD_TOO_LARGE` for input refused for its size (413), named by the first issue. */
  constructor(issues: FieldIssue[], kind: 'BAD_REQUEST' | 'PAYLOAD_TOO_LARGE' = 'BAD_REQUEST') {
    super(kind, kind === 'BAD_REQUEST' ? 'Input validation failed' : (issues[0]?.message ?? 'The input is too large'));
    this.issues = issues;
  }

  static field(path: string, message: string) {
    return new ValidationError([{ path: path.split('.'), message }]);
  }
}

export class NotFoundError extends DomainError {
  constructor(entity: string) {
    super('NOT_FOUND', `${entity} not found`);
  }
}

/** A 409: always says which conflict it is. */
export class ConflictError extends DomainError {
  constructor(reason: ErrorReason, message: string, details?: Record<string, unknown>) {
    super('CONFLICT', message, { reason, details });
  }
}

/** A 403: a missing permission or scope unless another reason is given. */
export class ForbiddenError extends DomainError {
  constructor(message = 'You do not have permission to do this', reason: ErrorReason = REASON.PERMISSION_DENIED) {
    super('FORBIDDEN', message, { reason });
  }
}

export class PasswordChangeRequiredError extends DomainError {
  constructor() {
    super('FORBIDDEN', 'Change your password first (POST /auth/change-password)', {
      reason: REASON.PASSWORD_CHANGE_REQUIRED,
    });
  }
}

export class UnauthorizedError extends DomainError {
  constructor(message = 'Authentication required') {
    super('UNAUTHORIZED', message);
  }
}

export class TooManyRequestsError extends DomainError {
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number, reason: ErrorReason) {
    super('TOO_MANY_REQUESTS', message, { reason, details: { retryAfterSeconds } });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Seconds a client is told to wait (Retry-After) before retrying while the database is away. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

export class DatabaseUnavailableError extends DomainError {
  readonly retryAfterSeconds = DATABASE_RETRY_AFTER_SECONDS;

  constructor() {
    super('SERVICE_UNAVAILABLE', 'The database is unavailable; retry shortly', {
      reason: REASON.DATABASE_UNAVAILABLE,
      details: { retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS },
    });
  }
}

/**
 * The one mapping every transport uses: a domain error as it is, a lost or refused database
 * connection as DatabaseUnavailableError (503), anything else undefined (an opaque 500).
 */
export function domainErrorOf(error: unknown): DomainError | undefined {
  if (error instanceof DomainError) return error;
  if (isDatabaseUnavailable(error)) return new DatabaseUnavailableError();
  return undefined;
}

/** Seconds for a Retry-After header, when the error asks the client to come back later. */
export function retryAfterSecondsOf(error: DomainError | undefined): number | undefined {
  return error instanceof TooManyRequestsError || error instanceof DatabaseUnavailableError
    ? error.retryAfterSeconds
    : undefined;
}

/** Postgres unique_violation, for turning a lost race into a 409. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const cause = (error as { cause?: unknown })?.cause ?? error;
  const pg = cause as { code?: string; constraint_name?: string };
  return pg?.code === '23505' && (constraint === undefined || pg.constraint_name === constraint);
}
