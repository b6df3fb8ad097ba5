import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceDeps } from '../deps.ts';
import { enqueueDelivery, jobDb } from '../jobs/queue.ts';
import type { CircuitBreaker } from './circuit-breaker.ts';
import { claimMessages, type Target } from './delivery-claim.ts';
import { completeFinishedCampaigns } from './delivery-record.ts';
import { createSendSlots, type SendSlots, sendAndRecord, untilWritten } from './delivery-send.ts';
import type { SmsProvider } from './delivery-types.ts';

export { completeFinishedCampaigns, retryDelayMs } from './delivery-record.ts';
export { createSendSlots, type SendSlots } from './delivery-send.ts';
export type { OutgoingSms, SendOutcome, SmsProvider } from './delivery-types.ts';

export interface DeliveryReport {
  sent: number;
  failed: number;
  /** Scheduled for another attempt with backoff. */
  retrying: number;
  skipped: number;
  /** Moved to the end of quiet hours. */
  deferred: number;
  /** Left for a later job: time budget, rate limit, open circuit, shutdown. */
  postponed: number;
}

const emptyReport = (): DeliveryReport => ({ sent: 0, failed: 0, retrying: 0, skipped: 0, deferred: 0, postponed: 0 });

export interface DeliverOptions {
  /** The messages of the job(s); without them, whatever is due. */
  messageIds?: readonly string[];
  /** Stop starting new batches after this long (the rest is left to a follow-up job). */
  timeBudgetMs?: number;
  /** The worker's carrier-call slots, shared by its delivery loops; without them, SMS_CONCURRENCY of this run's own. */
  slots?: SendSlots;
  /** The worker process claiming (its heartbeat vouches for the claims); none outside a worker. */
  workerId?: string;
  /** Aborted on shutdown: no carrier call starts after it, and claims not sent go back to QUEUED. */
  signal?: AbortSignal;
  /** The provider's circuit breaker (one per worker process). */
  breaker?: CircuitBreaker;
}

/**
 * Delivers messages: claim a batch, call the carrier for each in one of the worker's slots
 * (SMS_CONCURRENCY in all), record each outcome before its slot calls again, repeat. At most one carrier call per message
 * per claim. Stops claiming on shutdown, while the circuit is open and when the time budget is
 * spent, handing what is left to a later job. A claim lost to an unreachable database is retried
 * here until it comes back (see docs/campaigns-and-sms.md: delivery guarantees).
 */
export async function deliverMessages(
  deps: ServiceDeps,
  provider: SmsProvider,
  options: DeliverOptions = {},
): Promise<DeliveryReport> {
  const { config } = deps;
  const report = emptyReport();
  const started = Date.now();
  const budget = options.timeBudgetMs ?? 60_000;
  const batch = config.SMS_BATCH_SIZE;
  const control = {
    slots: options.slots ?? createSendSlots(config.SMS_CONCURRENCY),
    signal: options.signal,
    breaker: options.breaker,
  };
  const claimer = { provider: provider.name, workerId: options.workerId ?? null };
  const chunks: string[][] = [];
  if (options.messageIds) {
    const ids = [...new Set(options.messageIds)];
    for (let start = 0; start < ids.length; start += batch) chunks.push(ids.slice(start, start + batch));
  }
  const drain = !options.messageIds;
  let chunkIndex = 0;
  const targetAt = (index: number): Target | undefined => {
    if (drain) return index === 0 ? { due: true } : undefined;
    const ids = chunks[index];
    return ids ? { ids } : undefined;
  };
  let target = targetAt(0);
  const campaigns = new Set<string>();

  /** Hands the chunks not yet done (or, for a drain, whatever is due) to a job starting at `when`. */
  const postponeRest = async (when?: Date) => {
    const rest = drain ? [] : chunks.slice(chunkIndex).flat();
    await untilWritten(deps, () =>
      deps.db.transaction(async (tx) => {
        if (drain) await deps.jobs.send(jobDb(tx), 'sms.send', {}, when ? { startAfter: when } : {});
        else await enqueueDelivery(deps.jobs, tx, rest, { batchSize: batch, startAfter: when });
      }),
    );
    report.postponed += rest.length;
  };

  while (target) {
    if (options.signal?.aborted || Date.now() - started > budget) {
      await postponeRest();
      break;
    }
    const limit = options.breaker ? options.breaker.claimLimit(batch) : batch;
    if (limit === 0) {
      // The circuit is open: wait for it while the budget allows (nothing can be sent meanwhile),
      // else hand the rest to a job that starts when it may close.
      const reopensAt = options.breaker?.reopensAt() ?? new Date();
      const waitMs = reopensAt.getTime() - Date.now();
      if (Date.now() + waitMs - started > budget) {
        await postponeRest(reopensAt);
        break;
      }
      await sleep(waitMs, undefined, { signal: options.signal }).catch(() => undefined);
      continue;
    }
    const claim = await untilWritten(deps, () => claimMessages(deps, claimer, target as Target, limit), options.signal);
    report.skipped += claim.skipped;
    report.deferred += claim.deferred;
    if (claim.claimed.length > 0) {
      const { recorded, released } = await sendAndRecord(deps, provider, claim.claimed, control);
      report.postponed += released;
      for (const row of recorded) {
        if (row.status === 'SENT') report.sent += 1;
        else if (row.status === 'FAILED') report.failed += 1;
        else report.retrying += 1;
        if (row.campaign_id) campaigns.add(row.campaign_id);
      }
    }
    if (claim.waitMs > 0) {
      // Rate limit reached: wait for the window (bounded by the time budget), then try again.
      await new Promise((resolve) => setTimeout(resolve, claim.waitMs));
      continue;
    }
    const handled = claim.claimed.length + claim.skipped + claim.deferred;
    // Keep claiming this target while the rate limit or the circuit's probe cut it short, and a
    // drain while batches come back full.
    if ((claim.limited && handled > 0) || (handled === limit && (drain || limit < batch))) continue;
    chunkIndex += 1;
    target = targetAt(chunkIndex);
  }
  if (campaigns.size > 0)
    await untilWritten(deps, () => completeFinishedCampaigns(deps.db, deps.jobs, deps.now(), [...campaigns]));
  return report;
}
