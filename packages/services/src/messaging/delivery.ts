import type { ServiceDeps } from '../deps.ts';
import { enqueueDelivery, jobDb } from '../jobs/queue.ts';
import { drainOutbox, type OutboxChannel } from '../outbox/drain.ts';
import { createSendSlots, type SendSlots } from '../outbox/slots.ts';
import type { CircuitBreaker } from './circuit-breaker.ts';
import { claimMessages } from './delivery-claim.ts';
import { completeFinishedCampaigns } from './delivery-record.ts';
import { sendAndRecord, untilWritten } from './delivery-send.ts';
import type { ClaimedMessage, SmsProvider } from './delivery-types.ts';

export { createSendSlots, type SendSlots } from '../outbox/slots.ts';
export { completeFinishedCampaigns, retryDelayMs } from './delivery-record.ts';
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
 * Delivers messages through the outbox drain (claim a batch, send, record, repeat): each claimed
 * message is sent in one of the worker's slots (SMS_CONCURRENCY in all), and its outcome recorded
 * before the slot calls again. At most one carrier call per message per claim. Stops claiming on
 * shutdown, while the circuit is open and when the time budget is spent, handing what is left to
 * a later job. A claim lost to an unreachable database is retried here until it comes back (see
 * docs/campaigns-and-sms.md: delivery guarantees).
 */
export async function deliverMessages(
  deps: ServiceDeps,
  provider: SmsProvider,
  options: DeliverOptions = {},
): Promise<DeliveryReport> {
  const { config } = deps;
  const report = emptyReport();
  const { signal, breaker } = options;
  const claimer = { provider: provider.name, workerId: options.workerId ?? null };
  const control = {
    slots: options.slots ?? createSendSlots(config.SMS_CONCURRENCY),
    signal,
    breaker,
    workerId: claimer.workerId,
  };
  const campaigns = new Set<string>();

  const channel: OutboxChannel<ClaimedMessage> = {
    batchSize: config.SMS_BATCH_SIZE,
    claimLimit: breaker ? () => breaker.claimLimit(config.SMS_BATCH_SIZE) : undefined,
    reopensAt: breaker ? () => breaker.reopensAt() : undefined,
    claim: async (target, limit) => {
      const claim = await untilWritten(deps, () => claimMessages(deps, claimer, target, limit), signal);
      report.skipped += claim.skipped;
      report.deferred += claim.deferred;
      return { ...claim, settled: claim.skipped + claim.deferred };
    },
    deliver: async (claimed) => {
      const { recorded, released } = await sendAndRecord(deps, provider, claimed, control);
      report.postponed += released;
      for (const row of recorded) {
        if (row.status === 'SENT') report.sent += 1;
        else if (row.status === 'FAILED') report.failed += 1;
        else report.retrying += 1;
        if (row.campaign_id) campaigns.add(row.campaign_id);
      }
    },
    postpone: (ids, when) =>
      untilWritten(deps, () =>
        deps.db.transaction(async (tx) => {
          if (!ids) await deps.jobs.send(jobDb(tx), 'sms.send', {}, when ? { startAfter: when } : {});
          else await enqueueDelivery(deps.jobs, tx, ids, { batchSize: config.SMS_BATCH_SIZE, startAfter: when });
        }),
      ),
  };
  report.postponed += await drainOutbox(channel, {
    ids: options.messageIds,
    timeBudgetMs: options.timeBudgetMs ?? 60_000,
    signal,
  });
  if (campaigns.size > 0)
    await untilWritten(deps, () => completeFinishedCampaigns(deps.db, deps.jobs, deps.now(), [...campaigns]));
  return report;
}
