type Operation = { parameters?: unknown[]; responses?: Record<string, unknown> };
type OperationsDocument = { paths?: Record<string, Record<string, Operation>> };

const IDEMPOTENCY_KEY_PARAMETER = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'Makes a retry safe: the first answer is stored for IDEMPOTENCY_TTL and replayed (with `Idempotent-Replayed: true`) ' +
    'to a retry with the same key and the same request.',
  schema: { type: 'string', minLength: 1, maxLength: 255 },
};

/**
 * Every POST of the document takes `Idempotency-Key`, and can answer 409 (the first request with
 * the key still runs) and 422 (the key was used with another request).
 */
export function documentIdempotency(document: OperationsDocument) {
  for (const path of Object.values(document.paths ?? {})) {
    const operation = path.post;
    if (!operation) continue;
    operation.parameters = [...(operation.parameters ?? []), IDEMPOTENCY_KEY_PARAMETER];
    operation.responses = {
      ...operation.responses,
      409: operation.responses?.['409'] ?? {
        description: 'IDEMPOTENCY_KEY_IN_USE: a request with this Idempotency-Key is still running',
      },
      422: { description: 'IDEMPOTENCY_KEY_REUSED: the Idempotency-Key was used with a different request' },
    };
  }
}
