type Response = { headers?: Record<string, unknown> };
type Operation = { parameters?: unknown[]; security?: unknown[]; responses?: Record<string, Response> };
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
 * Every protected POST of the document takes `Idempotency-Key` (an anonymous one has no principal
 * to key it to, so the server ignores it there), except those at `secretPaths`, whose answers carry
 * a secret and are never stored (the server ignores the header there too): its success answers may
 * be replays (`Idempotent-Replayed`), and it can answer 409 (the first request with the key still
 * runs) and 422 (the key was used with another request); openapi-problems describes both.
 */
export function documentIdempotency(document: OperationsDocument, secretPaths: ReadonlySet<string>) {
  for (const [name, path] of Object.entries(document.paths ?? {})) {
    const operation = path.post;
    if (!operation?.security?.length || secretPaths.has(name)) continue;
    operation.parameters = [...(operation.parameters ?? []), IDEMPOTENCY_KEY_PARAMETER];
    const responses = operation.responses ?? {};
    for (const [status, response] of Object.entries(responses))
      if (Number(status) < 400)
        response.headers = {
          ...response.headers,
          'Idempotent-Replayed': { $ref: '#/components/headers/Idempotent-Replayed' },
        };
    operation.responses = { ...responses, 409: responses['409'] ?? {}, 422: {} };
  }
}
