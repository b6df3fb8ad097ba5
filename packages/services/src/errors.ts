/** Errors services throw; the transport maps each kind to one status code. */
export type DomainErrorKind =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'TOO_MANY_REQUESTS';

export interface FieldIssue {
  path: (string | number)[];
  message: string;
}

export class DomainError extends Error {
  readonly kind: DomainErrorKind;
  /** Safe to show to the caller. */
  readonly details?: Record<string, unknown>;

  constructor(kind: DomainErrorKind, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'DomainError';
    this.kind = kind;
    this.details = details;
  }
}

export class ValidationError extends DomainError {
  readonly issues: FieldIssue[];

  constructor(issues: FieldIssue[]) {
    super('BAD_REQUEST', 'Input validation failed');
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

export class ConflictError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('CONFLICT', message, details);
  }
}

export class ForbiddenError extends DomainError {
  constructor(message = 'You do not have permission to do this') {
    super('FORBIDDEN', message);
  }
}

/** The reason a signed-in user who must first replace the default password is refused. */
export const PASSWORD_CHANGE_REQUIRED = 'PASSWORD_CHANGE_REQUIRED';

export class PasswordChangeRequiredError extends DomainError {
  constructor() {
    super('FORBIDDEN', 'Change your password first (POST /auth/change-password)', {
      reason: PASSWORD_CHANGE_REQUIRED,
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

  constructor(message: string, retryAfterSeconds: number) {
    super('TOO_MANY_REQUESTS', message, { retryAfterSeconds });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Postgres unique_violation, for turning a lost race into a 409. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const cause = (error as { cause?: unknown })?.cause ?? error;
  const pg = cause as { code?: string; constraint_name?: string };
  return pg?.code === '23505' && (constraint === undefined || pg.constraint_name === constraint);
}
