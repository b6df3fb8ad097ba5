import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { AuthUser } from '../actor.ts';
import type { SessionRow } from './session.ts';

/** A session row and the signed-in user built from it once (its permission set included). */
export interface CachedSession {
  row: SessionRow;
  user: AuthUser;
}

/** Where the triggers of migration 0016 announce auth changes, and where API processes talk. */
export const AUTH_CHANNEL = 'touch_crm_auth';

/** Sends heartbeats, fences and acks: postgres.js's `notify` (`deps.db.$client` in the API). */
export interface NotifySender {
  notify(channel: string, payload: string): Promise<unknown>;
}

/** The LISTEN connection (`connectListener` of @touch-crm/db): opened by `unsafe('listen …')`. */
export interface ListenConnection {
  unsafe: (query: string) => PromiseLike<unknown>;
  end: (options?: { timeout?: number }) => Promise<void>;
}

export type ConnectListener = (handlers: {
  onNotify: (channel: string, payload: string) => void;
  onClose: () => void;
}) => ListenConnection;

export interface SessionCacheOptions {
  /** Opens the process's one LISTEN connection, which reports its loss. */
  connectListener: ConnectListener;
  sender: NotifySender;
  max?: number;
  heartbeatMs?: number;
  /** Entries are used only while a heartbeat sent less than this long ago has come back. */
  trustMs?: number;
  /** The longest a change made through the API waits for the other processes' acks. */
  fenceCapMs?: number;
}

/**
 * Session rows (user, role and permission keys) by user id; one per API process, created by the app.
 *
 * Messages on AUTH_CHANNEL, in commit order on the listening connection:
 * - `u:<user id>`, `r:<role id>`, `*` (triggers): drop that user's entry, or every entry;
 * - `h:<process>:<sent at>` every heartbeatMs from every process: the sender trusts its entries
 *   only while one of its own came back within trustMs (anything committed before it was sent
 *   has been seen), and every process counts the listeners it hears from;
 * - `f:<writer>:<fence>` after a change made through the API; each listener answers
 *   `a:<writer>:<fence>:<process>` once it has read everything before it, and the writer waits
 *   for the listeners it knows of (or fenceCapMs).
 */
export class SessionCache {
  readonly id = randomUUID();
  readonly #entries: LRUCache<string, CachedSession>;
  readonly #listener: ListenConnection;
  readonly #sender: NotifySender;
  readonly #trustMs: number;
  readonly #fenceCapMs: number;
  readonly #heartbeatMs: number;
  /** Bumped by every invalidation: a row read before one is not stored after it. */
  #generation = 0;
  /** When the newest of this process's heartbeats that came back was sent (performance.now()). */
  #heartbeatBack = Number.NEGATIVE_INFINITY;
  /** Listening processes (this one included) by when their last heartbeat arrived. */
  readonly #peers = new Map<string, number>();
  readonly #fences = new Map<string, { waiting: Set<string>; done: () => void }>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Set when the LISTEN connection was lost and LISTEN must be sent again. */
  #relisten = false;
  #relistening = false;

  constructor(options: SessionCacheOptions) {
    this.#entries = new LRUCache({ max: options.max ?? 10_000 });
    this.#listener = options.connectListener({
      onNotify: (channel, payload) => {
        if (channel === AUTH_CHANNEL) this.#receive(payload);
      },
      onClose: () => {
        // Lost: distrust at once (not 1.5 s later), and LISTEN again.
        this.#heartbeatBack = Number.NEGATIVE_INFINITY;
        this.#clear();
        this.#relisten = true;
        void this.#listen();
      },
    });
    this.#sender = options.sender;
    this.#heartbeatMs = options.heartbeatMs ?? 500;
    this.#trustMs = options.trustMs ?? 1_500;
    this.#fenceCapMs = options.fenceCapMs ?? 1_500;
  }

  /** LISTENs and starts the heartbeat; until its first heartbeat is back, nothing is cached. */
  async start(): Promise<void> {
    await this.#listener.unsafe(`listen ${AUTH_CHANNEL}`);
    this.#timer = setInterval(() => this.#heartbeat(), this.#heartbeatMs);
    this.#timer.unref();
    this.#heartbeat();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    for (const fence of this.#fences.values()) fence.done();
    await this.#listener.end({ timeout: 0 });
  }

  /** Sends LISTEN again after a loss, every heartbeat until it works; empties the cache once it does. */
  async #listen(): Promise<void> {
    if (this.#relistening) return;
    this.#relistening = true;
    while (this.#relisten && !this.#closed) {
      this.#relisten = false;
      try {
        await this.#listener.unsafe(`listen ${AUTH_CHANNEL}`);
        this.#clear();
      } catch {
        this.#relisten = true;
        await new Promise((resolve) => setTimeout(resolve, this.#heartbeatMs).unref());
      }
    }
    this.#relistening = false;
  }

  /** True while the entries are known to reflect every change committed more than trustMs ago. */
  trusted(): boolean {
    return performance.now() - this.#heartbeatBack < this.#trustMs;
  }

  /** The stamp to pass to `set` for a row about to be read. */
  get generation(): number {
    return this.#generation;
  }

  get(userId: string): CachedSession | undefined {
    if (this.trusted()) return this.#entries.get(userId);
    if (this.#entries.size > 0) this.#clear();
    return undefined;
  }

  /** Keeps a row read at `generation`, unless something was invalidated since. */
  set(userId: string, session: CachedSession, generation: number): void {
    if (generation === this.#generation && this.trusted()) this.#entries.set(userId, session);
  }

  /**
   * Resolves once every listening API process has read everything committed before this call (so a
   * change just committed applies to its next request there), or after fenceCapMs.
   */
  fence(): Promise<void> {
    const since = performance.now() - this.#trustMs;
    const waiting = new Set([...this.#peers].filter(([, heard]) => heard > since).map(([id]) => id));
    if (waiting.size === 0) return Promise.resolve();
    const fenceId = randomUUID();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#fences.delete(fenceId);
        resolve();
      };
      const timer = setTimeout(done, this.#fenceCapMs);
      this.#fences.set(fenceId, { waiting, done });
      this.#sender.notify(AUTH_CHANNEL, `f:${this.id}:${fenceId}`).catch(done);
    });
  }

  #clear(): void {
    this.#generation++;
    this.#entries.clear();
  }

  #heartbeat(): void {
    if (!this.trusted() && this.#entries.size > 0) this.#clear();
    // Processes that stopped (each start has a new id) are forgotten.
    const since = performance.now() - this.#trustMs;
    for (const [id, heard] of this.#peers) if (heard < since) this.#peers.delete(id);
    this.#sender.notify(AUTH_CHANNEL, `h:${this.id}:${performance.now()}`).catch(() => undefined);
  }

  #receive(payload: string): void {
    const [kind, a, b, c] = payload.split(':');
    if (payload === '*' || kind === 'r') this.#clear();
    else if (kind === 'u' && a) {
      this.#generation++;
      this.#entries.delete(a);
    } else if (kind === 'h' && a) {
      this.#peers.set(a, performance.now());
      if (a === this.id) this.#heartbeatBack = Math.max(this.#heartbeatBack, Number(b));
    } else if (kind === 'f' && a && b) {
      this.#sender.notify(AUTH_CHANNEL, `a:${a}:${b}:${this.id}`).catch(() => undefined);
    } else if (kind === 'a' && a === this.id && b && c) {
      const fence = this.#fences.get(b);
      fence?.waiting.delete(c);
      if (fence?.waiting.size === 0) fence.done();
    }
  }
}
