import { setTimeout as sleep } from 'node:timers/promises';

/** What one claim covers: the items a job names, or whatever is due. */
export type Target = { ids: readonly string[] } | { due: true };

export interface Claimed<Item> {
  /** Claimed for sending: this worker's until their outcomes are written (or their lease ends). */
  claimed: Item[];
  /** Settled by the claim itself without a send (skipped, deferred, dropped). */
  settled: number;
  /** The claim was cut short by a rate limit: more may be eligible right now. */
  limited?: boolean;
  /** Nothing claimable under the rate limit: how long until it frees. */
  waitMs?: number;
}

/**
 * One outbox (SMS messages, webhook deliveries): how its items are claimed, sent and recorded,
 * and how the rest is handed to a later job. The loop around them is `drainOutbox`'s.
 */
export interface OutboxChannel<Item> {
  /** Items one claim takes at most (the size of a job's batch). */
  batchSize: number;
  /** How many items a claim may take now (a circuit breaker's probe: 1; open: 0). Default: the batch. */
  claimLimit?(): number;
  /** While claimLimit() is 0: when it may be more. */
  reopensAt?(): Date;
  claim(target: Target, limit: number): Promise<Claimed<Item>>;
  /** Sends each claimed item (with bounded concurrency) and records the outcomes. */
  deliver(claimed: Item[]): Promise<void>;
  /** Hands what is left to a job starting at `when` (now without it): `ids`, or for a drain, whatever is due. */
  postpone(ids: string[] | undefined, when?: Date): Promise<void>;
}

export interface DrainOptions {
  /** The items of the job(s); without them, whatever is due. */
  ids?: readonly string[];
  /** Stop claiming after this long: the rest goes to a follow-up job. */
  timeBudgetMs: number;
  /** Aborted on shutdown: no claim after it, the rest goes to a follow-up job. */
  signal?: AbortSignal;
}

/**
 * The outbox drain every channel shares: claim a batch, deliver it, repeat; a drain keeps going
 * while batches come back full. Stops claiming on shutdown and when the time budget is spent,
 * handing what is left to a later job; while the channel's circuit is open it waits (within the
 * budget) or hands the rest to a job that starts when it may close. Returns how many named items
 * were postponed.
 */
export async function drainOutbox<Item>(channel: OutboxChannel<Item>, options: DrainOptions): Promise<number> {
  const started = Date.now();
  const batch = channel.batchSize;
  const chunks: string[][] = [];
  if (options.ids) {
    const ids = [...new Set(options.ids)];
    for (let start = 0; start < ids.length; start += batch) chunks.push(ids.slice(start, start + batch));
  }
  const drain = !options.ids;
  let chunkIndex = 0;
  const targetAt = (index: number): Target | undefined => {
    if (drain) return index === 0 ? { due: true } : undefined;
    const ids = chunks[index];
    return ids ? { ids } : undefined;
  };
  const postponeRest = async (when?: Date) => {
    const rest = drain ? undefined : chunks.slice(chunkIndex).flat();
    await channel.postpone(rest, when);
    return rest?.length ?? 0;
  };

  let target = targetAt(0);
  while (target) {
    if (options.signal?.aborted || Date.now() - started > options.timeBudgetMs) return postponeRest();
    const limit = channel.claimLimit ? channel.claimLimit() : batch;
    if (limit === 0) {
      // The circuit is open: wait for it while the budget allows (nothing can be sent meanwhile),
      // else hand the rest to a job that starts when it may close.
      const reopensAt = channel.reopensAt?.() ?? new Date();
      const waitMs = reopensAt.getTime() - Date.now();
      if (Date.now() + waitMs - started > options.timeBudgetMs) return postponeRest(reopensAt);
      await sleep(waitMs, undefined, { signal: options.signal }).catch(() => undefined);
      continue;
    }
    const claim = await channel.claim(target, limit);
    if (claim.claimed.length > 0) await channel.deliver(claim.claimed);
    if (claim.waitMs && claim.waitMs > 0) {
      // Rate limit reached: wait for the window (bounded by the time budget), then try again.
      await sleep(claim.waitMs);
      continue;
    }
    const handled = claim.claimed.length + claim.settled;
    // Keep claiming this target while a rate limit or a circuit's probe cut it short, and a drain
    // while batches come back full.
    if ((claim.limited && handled > 0) || (handled === limit && (drain || limit < batch))) continue;
    chunkIndex += 1;
    target = targetAt(chunkIndex);
  }
  return 0;
}
