import { REASON } from '@touch-crm/contract';
import { TooManyRequestsError } from '@touch-crm/services';
import type { Logger } from '../context.ts';

/** What a refused export is told to wait: exports of a large set take seconds, not minutes. */
const RETRY_AFTER_SECONDS = 10;

/**
 * Exports streaming at once, per API process and per user. An export holds a database
 * connection for as long as its client reads, so both are capped; over a cap is a 429.
 */
export class ExportSlots {
  readonly #perProcess: number;
  readonly #perUser: number;
  readonly #byUser = new Map<string, number>();
  #running = 0;

  constructor(limits: { perProcess: number; perUser: number }) {
    this.#perProcess = limits.perProcess;
    this.#perUser = limits.perUser;
  }

  /** Takes a slot for `userId`; the returned function gives it back (once, however often called). */
  acquire(userId: string): () => void {
    const mine = this.#byUser.get(userId) ?? 0;
    if (mine >= this.#perUser)
      throw new TooManyRequestsError(
        `You already have ${mine} exports running; wait for one to finish`,
        RETRY_AFTER_SECONDS,
        REASON.EXPORTS_BUSY,
      );
    if (this.#running >= this.#perProcess)
      throw new TooManyRequestsError(
        'Too many exports are running; try again shortly',
        RETRY_AFTER_SECONDS,
        REASON.EXPORTS_BUSY,
      );
    this.#running += 1;
    this.#byUser.set(userId, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#running -= 1;
      const left = (this.#byUser.get(userId) ?? 1) - 1;
      if (left > 0) this.#byUser.set(userId, left);
      else this.#byUser.delete(userId);
    };
  }
}

export interface ExportStreamOptions {
  chunks: AsyncGenerator<string>;
  headers: Record<string, string>;
  /** A client that takes no chunk for this long is cut off and the cursor closed. */
  idleTimeoutMs: number;
  /** Gives the export's slot back; called once when the stream ends, however it ends. */
  release: () => void;
  /** Drops the client's connection (the HTTP server's response); false when there is none to drop. */
  abortConnection: () => boolean;
  log: Logger;
}

/**
 * A streamed export response. The query runs to its first chunk before anything is sent, so a
 * query that fails early throws here (the caller answers a JSON error) instead of a 200 with a
 * cut body. A failure after that errors the stream: the server drops the connection and the
 * client sees an incomplete body, never a silently short file.
 */
export async function streamExport(options: ExportStreamOptions): Promise<Response> {
  const { chunks, release, log } = options;
  let first: IteratorResult<string>;
  try {
    first = await chunks.next();
  } catch (error) {
    release();
    throw error;
  }

  const encoder = new TextEncoder();
  let pending = first.done ? undefined : first.value;
  let idle: NodeJS.Timeout | undefined;
  let ended = false;
  const end = () => {
    if (ended) return false;
    ended = true;
    clearTimeout(idle);
    release();
    return true;
  };

  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      clearTimeout(idle);
      // Drops the client's connection so it sees an incomplete body; a stream error is the fallback.
      const cut = () => options.abortConnection() || controller.error(new Error('export cut off'));
      try {
        const next = pending === undefined ? await chunks.next() : { done: false as const, value: pending };
        pending = undefined;
        if (next.done) {
          end();
          controller.close();
          return;
        }
        controller.enqueue(encoder.encode(next.value));
      } catch (error) {
        if (!end()) return;
        log.error({ err: error }, 'export failed mid-stream; the response is cut off');
        cut();
        return;
      }
      idle = setTimeout(() => {
        if (!end()) return;
        log.warn({ idleTimeoutMs: options.idleTimeoutMs }, 'export client stopped reading; closing the export');
        void chunks.return(undefined);
        cut();
      }, options.idleTimeoutMs);
    },
    async cancel() {
      end();
      await chunks.return(undefined);
    },
  });
  return new Response(body, { headers: options.headers });
}
