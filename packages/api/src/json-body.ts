import { EdgeError } from './http-error.ts';

/**
 * A body the procedures can take is JSON: its Content-Type's media type (parameters such as
 * `charset` aside, any case) is exactly `application/json`. Anything else, a header naming
 * several types included, is refused whole with 415 before the body is read.
 */
export function jsonBodyRefusal(request: Request): EdgeError | undefined {
  const header = request.headers.get('content-type');
  if (header?.split(';', 1)[0]?.trim().toLowerCase() === 'application/json') return undefined;
  return new EdgeError(
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    header === null
      ? 'The body must be application/json; the request has no Content-Type'
      : `The body must be application/json, not "${header}"`,
  );
}
