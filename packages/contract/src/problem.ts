import { z } from 'zod';

/**
 * Every error code a response can carry: tRPC's names (the procedures' kinds) plus the edge's
 * TIMEOUT and the two Idempotency-Key refusals. A client switches on `code`, never on the message.
 */
export const ERROR_CODES = [
  'PARSE_ERROR',
  'BAD_REQUEST',
  'UNAUTHORIZED',
  'PAYMENT_REQUIRED',
  'FORBIDDEN',
  'NOT_FOUND',
  'METHOD_NOT_SUPPORTED',
  'TIMEOUT',
  'CONFLICT',
  'PRECONDITION_FAILED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'UNPROCESSABLE_CONTENT',
  'PRECONDITION_REQUIRED',
  'TOO_MANY_REQUESTS',
  'CLIENT_CLOSED_REQUEST',
  'INTERNAL_SERVER_ERROR',
  'NOT_IMPLEMENTED',
  'BAD_GATEWAY',
  'SERVICE_UNAVAILABLE',
  'GATEWAY_TIMEOUT',
  'IDEMPOTENCY_KEY_IN_USE',
  'IDEMPOTENCY_KEY_REUSED',
] as const;

export const errorCodeSchema = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof errorCodeSchema>;

/**
 * Why a request was refused, where one status has several causes: two 409s or two 403s tell
 * themselves apart by `reason`, never by the message. Services throw with one of these.
 */
export const ERROR_REASONS = [
  'PERMISSION_DENIED',
  'PASSWORD_CHANGE_REQUIRED',
  'API_KEY_NOT_ALLOWED',
  'API_KEY_PERMISSIONS_EXCEED_CREATOR',
  'LAST_ADMIN',
  'USERNAME_TAKEN',
  'EMAIL_TAKEN',
  'PHONE_TAKEN',
  'SKU_TAKEN',
  'PROMOTION_CODE_TAKEN',
  'LEVEL_NAME_TAKEN',
  'PROMOTION_NOT_ASSIGNED',
  'PROMOTION_ALREADY_REDEEMED',
  'PROMOTION_UNAVAILABLE',
  'ORDER_ALREADY_CANCELLED',
  'TASK_TRANSITION_NOT_ALLOWED',
  'TASK_SERIES_SLOT_TAKEN',
  'CAMPAIGN_NOT_EDITABLE',
  'CAMPAIGN_NOT_CANCELLABLE',
  'CAMPAIGN_CANCELLED',
  'SMS_CONSENT_WITHDRAWN',
  'PHONE_UNDELIVERABLE',
  'WEBHOOK_DELIVERY_PENDING',
  'WEBHOOK_INACTIVE',
  'DEMO_DATA_REFUSED',
  'DEMO_DATA_PRESENT',
  'LOGIN_THROTTLED',
  'RATE_LIMITED',
  'EXPORTS_BUSY',
  'DATABASE_UNAVAILABLE',
] as const;

export const errorReasonSchema = z
  .enum(ERROR_REASONS)
  .describe('Which of the causes of this status it was: a client switches on it to tell two 409s apart')
  .meta({ id: 'ErrorReason' });
export type ErrorReason = z.infer<typeof errorReasonSchema>;
/** The reasons by name, for the code that throws them: `REASON.PHONE_TAKEN`. */
export const REASON = errorReasonSchema.enum;

/** One failing input field: where it is, what is wrong, and zod's issue code (`invalid_type`, `too_small`, `custom` …). */
export const fieldErrorSchema = z
  .strictObject({
    path: z.array(z.union([z.string(), z.number().int()])).meta({ example: ['items', 0, 'quantity'] }),
    message: z.string().meta({ example: 'Too small: expected number to be >=1' }),
    code: z.string().meta({ example: 'too_small' }),
  })
  .meta({ id: 'FieldError' });
export type FieldError = z.infer<typeof fieldErrorSchema>;

/**
 * The error body of every REST response (RFC 9457 problem details, `application/problem+json`):
 * the REST mirror, the plain export/import routes and the server's own edge (unknown route, body
 * limit, timeout). `type` is always `about:blank`, so `title` is the HTTP status phrase; `code` is
 * the kind of error and `reason`, where a status has several causes, which one it was.
 */
export const problemSchema = z
  .strictObject({
    type: z.literal('about:blank').describe('No further semantics than the status; see `code`'),
    title: z.string().describe('The HTTP status phrase').meta({ example: 'Conflict' }),
    status: z.number().int().min(400).max(599).meta({ example: 409 }),
    detail: z.string().describe('What went wrong, for a person').meta({ example: 'The order is already cancelled' }),
    instance: z
      .string()
      .describe('The request path')
      .meta({ example: '/api/v1/orders/0b9f5c2e-4a7d-4d8e-9a51-3f0c2d1e7b6a/cancel' }),
    code: errorCodeSchema,
    reason: errorReasonSchema.optional(),
    requestId: z.string().describe('The X-Request-Id of the request, as in the server logs'),
    errors: z
      .array(fieldErrorSchema)
      .optional()
      .describe('Each failing input field (400, and 413 for an oversized field)'),
    details: z
      .record(z.string(), z.unknown())
      .optional()
      .describe(
        'Safe facts about the error: `retryAfterSeconds`, what a 409 conflicted with (`existingCustomerId`, `allowed` …)',
      ),
  })
  .meta({ id: 'Problem' });
export type Problem = z.infer<typeof problemSchema>;

/** The media type of a problem details body. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The `data` of a tRPC error: the problem's code, reason, request id, failing fields and details, with tRPC's `httpStatus`. */
export const trpcErrorDataSchema = problemSchema
  .pick({ code: true, reason: true, errors: true, details: true })
  .extend({ httpStatus: z.number().int(), requestId: z.string().optional() });
export type TrpcErrorData = z.infer<typeof trpcErrorDataSchema>;
