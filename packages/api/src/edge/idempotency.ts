import { createHash } from 'node:crypto';
import {
  claimIdempotencyKey,
  type IdempotencyKey,
  releaseIdempotencyKey,
  type ServiceDeps,
  saveIdempotentAnswer,
  ValidationError,
} from '@touch-crm/services';
import { EdgeError } from '../http-error.ts';

/** Stripe's and the IETF draft's header; the answer to a retry says it is a replay. */
const KEY_HEADER = 'idempotency-key';
const REPLAYED_HEADER = 'Idempotent-Replayed';
/** Visible ASCII only, as a header value should be; long enough for a UUID or a ULID with a prefix. */
const KEY_SHAPE = /^[\x21-\x7e]{1,255}$/;

/**
 * Method, path with query, and body: a retry must repeat the request exactly. A multipart body is
 * taken part by part (name, file name, type, content), not byte for byte: its boundary is the
 * client's random choice (curl picks a new one each time), so the same upload would differ.
 */
async function fingerprintOf(request: Request): Promise<string> {
  const url = new URL(request.url);
  const hash = createHash('sha256').update(`${request.method} ${url.pathname}${url.search}\n`);
  const form = isMultipart(request)
    ? await request
        .clone()
        .formData()
        .catch(() => null)
    : null;
  if (!form) return hash.update(new Uint8Array(await request.clone().arrayBuffer())).digest('hex');
  hash.update('multipart/form-data\n');
  for (const [name, value] of form) {
    // Each part's description as JSON with its length, then its bytes: no two forms hash alike.
    const content =
      typeof value === 'string' ? new TextEncoder().encode(value) : new Uint8Array(await value.arrayBuffer());
    const file = typeof value === 'string' ? null : { filename: value.name, type: value.type };
    hash.update(`${JSON.stringify({ name, file, bytes: content.byteLength })}\n`).update(content);
  }
  return hash.digest('hex');
}

const isMultipart = (request: Request) =>
  /^multipart\/form-data\s*(;|$)/i.test(request.headers.get('content-type') ?? '');

/** Answers that say nothing final about the request (our failure, or a limit): the key may be retried. */
const isTransient = (status: number) => status >= 500 || status === 429;

/**
 * Runs a POST sent with an `Idempotency-Key` at most once per principal and key (Stripe's
 * semantics): the first answer is stored for IDEMPOTENCY_TTL and replayed to a retry of the same
 * request; the same key with another request is 422; a retry while the first still runs is 409.
 * Other requests, anonymous ones (nothing to key them to) and those whose answer carries a secret
 * (`carriesSecret`: never to be stored) just run.
 */
export async function idempotent(
  deps: ServiceDeps,
  request: Request,
  principal: string | null,
  handle: () => Promise<Response>,
  carriesSecret: (request: Request) => boolean,
): Promise<Response> {
  const key = request.headers.get(KEY_HEADER);
  if (key === null || request.method !== 'POST' || !principal || carriesSecret(request)) return handle();
  if (!KEY_SHAPE.test(key))
    throw new ValidationError([
      { path: ['Idempotency-Key'], message: 'must be 1 to 255 visible ASCII characters (no spaces)' },
    ]);
  const id: IdempotencyKey = { principal, key };
  const claim = await claimIdempotencyKey(deps, id, await fingerprintOf(request));
  if (claim.kind === 'mismatch')
    throw new EdgeError(
      422,
      'IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was already used with a different request; use a new key',
    );
  if (claim.kind === 'running')
    throw new EdgeError(409, 'IDEMPOTENCY_KEY_IN_USE', 'A request with this Idempotency-Key is still running', {
      'Retry-After': '1',
    });
  if (claim.kind === 'replay') {
    const { status, body, contentType } = claim.answer;
    const headers = new Headers({ [REPLAYED_HEADER]: 'true' });
    if (contentType) headers.set('content-type', contentType);
    return new Response(status === 204 ? null : body, { status, headers });
  }

  let response: Response;
  try {
    response = await handle();
  } catch (error) {
    await releaseIdempotencyKey(deps, id);
    throw error;
  }
  if (isTransient(response.status)) {
    await releaseIdempotencyKey(deps, id);
    return response;
  }
  const body = await response.text();
  await saveIdempotentAnswer(deps, id, {
    status: response.status,
    body,
    contentType: response.headers.get('content-type'),
  });
  return new Response(response.status === 204 ? null : body, { status: response.status, headers: response.headers });
}
