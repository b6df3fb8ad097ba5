import type { QueueName, QueuePayload } from '@touch-crm/jobs';
import {
  type CircuitBreaker,
  type DeliveryReport,
  deliverMessages,
  deliverWebhooks,
  dispatchCampaigns,
  generateRecurringTasks,
  pruneLoginFailures,
  pruneRequestRecords,
  queueBirthdayMessages,
  queueInactivityMessages,
  recoverMessages,
  recoverWebhookDeliveries,
  runCustomerImport,
  type SendSlots,
  type ServiceDeps,
  type SmsProvider,
  scoreRfm,
} from '@touch-crm/services';

export interface JobContext {
  deps: ServiceDeps;
  provider: SmsProvider;
  /** The process's carrier-call slots (SMS_CONCURRENCY), shared by the delivery loops. */
  sendSlots?: SendSlots;
  /** The worker process's id (its heartbeat vouches for its claims). */
  workerId?: string;
  /** Aborted when the worker stops: deliveries start no more carrier calls. */
  signal?: AbortSignal;
  /** The provider's circuit breaker, shared by the delivery loops. */
  breaker?: CircuitBreaker;
}

type Handler<N extends QueueName> = (context: JobContext, payloads: QueuePayload<N>[]) => Promise<object>;

/** Jobs that work on "now": one run covers any number of jobs fetched together. */
const once =
  <N extends QueueName>(run: (deps: ServiceDeps) => Promise<object>): Handler<N> =>
  ({ deps }) =>
    run(deps);

const add = (a: DeliveryReport, b: DeliveryReport): DeliveryReport => ({
  sent: a.sent + b.sent,
  failed: a.failed + b.failed,
  retrying: a.retrying + b.retrying,
  skipped: a.skipped + b.skipped,
  deferred: a.deferred + b.deferred,
  postponed: a.postponed + b.postponed,
});

/**
 * What each queue does: the worker's pg-boss handlers and `pnpm jobs run` call these, and
 * they call the same service verbs as the API. Each receives the payloads of the jobs
 * fetched together (pg-boss hands out arrays) and returns the run's result, kept as the job's output.
 */
export const JOB_HANDLERS: { [N in QueueName]: Handler<N> } = {
  'rfm.score': once((deps) => scoreRfm(deps, deps.now())),
  'messages.birthday': once((deps) => queueBirthdayMessages(deps, deps.now())),
  'messages.inactivity': once((deps) => queueInactivityMessages(deps, deps.now())),
  'tasks.recurring': once((deps) => generateRecurringTasks(deps, deps.now())),
  'auth.prune-login-failures': once((deps) => pruneLoginFailures(deps)),
  'requests.prune': once((deps) => pruneRequestRecords(deps)),
  'campaigns.dispatch': async ({ deps }, payloads) => {
    const named = payloads.flatMap((payload) => (payload.campaignId ? [payload.campaignId] : []));
    const results = [];
    for (const campaignId of new Set(named)) results.push(await dispatchCampaigns(deps, campaignId));
    if (payloads.some((payload) => !payload.campaignId)) results.push(await dispatchCampaigns(deps));
    return {
      executed: results.flatMap((result) => result.executed),
      failed: results.flatMap((result) => result.failed),
    };
  },
  'customers.import': async ({ deps }, payloads) => {
    const imports = [];
    for (const { importId } of payloads) imports.push(await runCustomerImport(deps, importId));
    return { imports };
  },
  'sms.send': async ({ deps, provider, sendSlots, workerId, signal, breaker }, payloads) => {
    const messageIds = payloads.flatMap((payload) => payload.messageIds ?? []);
    const options = { slots: sendSlots, workerId, signal, breaker };
    let report = await deliverMessages(deps, provider, { ...options, messageIds });
    if (payloads.some((payload) => !payload.messageIds))
      report = add(report, await deliverMessages(deps, provider, options));
    return report;
  },
  'webhooks.deliver': async ({ deps }, payloads) => {
    const deliveryIds = payloads.flatMap((payload) => payload.deliveryIds ?? []);
    const report = await deliverWebhooks(deps, { deliveryIds });
    if (payloads.some((payload) => !payload.deliveryIds)) {
      const due = await deliverWebhooks(deps);
      for (const key of Object.keys(report) as (keyof typeof report)[]) report[key] += due[key];
    }
    return report;
  },
};

/**
 * The periodic pass of each queue whose worker settings name a `recoveryInterval`: what a dead
 * worker or a set-based write left without a job gets one. A result is logged; none means nothing
 * was found.
 */
export const RECOVERY_PASSES: Partial<Record<QueueName, (deps: ServiceDeps) => Promise<object | undefined>>> = {
  'sms.send': async (deps) => {
    const report = await recoverMessages(deps);
    return report.requeued || report.orphaned || report.campaignsCompleted ? report : undefined;
  },
  'webhooks.deliver': async (deps) => {
    const { queued } = await recoverWebhookDeliveries(deps);
    return queued ? { queued } : undefined;
  },
};
