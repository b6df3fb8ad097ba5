import type { z } from 'zod';
import type { Context } from '../context.ts';
import { errorResponse, handleError } from '../http-error.ts';

/** What a plain route may do to the connection it answers on (Node's response, when there is one). */
export interface Connection {
  /** Drops the connection so the client sees an incomplete body; false when there is none to drop. */
  abort: () => boolean;
}

/**
 * An HTTP route beside the procedures, where JSON in and out does not fit (streamed exports, CSV
 * uploads). It authorizes and answers errors exactly as the procedures do.
 */
export interface PlainRoute {
  method: 'GET' | 'POST';
  /** Below the REST prefix, like the procedures' paths. */
  path: `/${string}`;
  /** The body may reach IMPORT_MAX_BYTES instead of BODY_LIMIT_BYTES. */
  largeBody?: boolean;
  handle: (request: Request, ctx: Context, connection: Connection) => Promise<Response>;
}

/** A plain route's handler, with any error answered as toHttpError's body. */
export const answering =
  (handle: PlainRoute['handle']): PlainRoute['handle'] =>
  async (request, ctx, connection) => {
    try {
      return await handle(request, ctx, connection);
    } catch (error) {
      return errorResponse(handleError(error, ctx), new URL(request.url).pathname);
    }
  };

/** The query string through its contract schema; a failure is the same 400 a procedure gives. */
export const parseQuery = <T extends z.ZodType>(schema: T, request: Request): z.infer<T> =>
  schema.parse(Object.fromEntries(new URL(request.url).searchParams));
