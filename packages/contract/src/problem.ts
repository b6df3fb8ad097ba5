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
 * limit, timeout). `type` is always `about:blank`, so `title` is the HTTP status phrase and `code`
 * tells errors of one status apart.
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
    requestId: z.string().describe('The X-Request-Id of the request, as in the server logs'),
    errors: z
      .array(fieldErrorSchema)
      .optional()
      .describe('Each failing input field (400, and 413 for an oversized field)'),
    details: z
      .record(z.string(), z.unknown())
      .optional()
      .describe(
        'Safe facts about the error: `reason` (PASSWORD_CHANGE_REQUIRED, DATABASE_UNAVAILABLE …), `retryAfterSeconds`, what a 409 conflicted with',
      ),
  })
  .meta({ id: 'Problem' });
export type Problem = z.infer<typeof problemSchema>;

/** The media type of a problem details body. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The `data` of a tRPC error: the problem's code, request id, failing fields and details, with tRPC's `httpStatus`. */
export const trpcErrorDataSchema = problemSchema
  .pick({ code: true, errors: true, details: true })
  .extend({ httpStatus: z.number().int(), requestId: z.string().optional() });
export type TrpcErrorData = z.infer<typeof trpcErrorDataSchema>;
