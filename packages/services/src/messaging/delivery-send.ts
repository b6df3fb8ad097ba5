import type { ServiceDeps } from '../deps.ts';
import type { SendSlots } from '../outbox/slots.ts';
import type { CircuitBreaker } from './circuit-breaker.ts';
import { releaseClaims } from './delivery-claim.ts';
import { type Started, startCalls } from './delivery-fence.ts';
import { recordEachOutcome, recordOutcomes } from './delivery-record.ts';
import type { Answered, ClaimedMessage, Recorded, SendOutcome, SmsProvider } from './delivery-types.ts';

/** What a delivery run listens to besides its messages. */
export interface SendControl {
  /** The worker's carrier-call slots: one is held from a call until its outcome is written. */
  slots: SendSlots;
  /** Aborted on shutdown: no carrier call starts after it. */
  signal?: AbortSignal;
  /** The provider's circuit breaker, shared by the worker's delivery loops. */
  breaker?: CircuitBreaker;
  /** The worker holding the claims (null: claimed outside a worker): the fence checks it. */
  workerId?: string | null;
}

export interface SendResult {
  recorded: Recorded[];
  /** Claimed messages handed back to QUEUED without a carrier call (shutdown, open circuit, database lost). */
  released: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Verdict = 'go' | 'drop' | number;

/**
 * Runs `write` until it commits, with backoff (100 ms doubling to 2 s), for up to twice
 * SMS_SENDING_LEASE; then gives up with the last error. Used while the database is away. With a
 * `signal` (work that may simply be left for later), it gives up at once once that is aborted.
 */
export async function untilWritten<T>(deps: ServiceDeps, write: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const deadline = Date.now() + 2 * deps.config.SMS_SENDING_LEASE;
  for (let attempt = 0; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (Date.now() > deadline || signal?.aborted) throw error;
      await sleep(Math.min(2_000, 100 * 2 ** attempt));
    }
  }
}

/**
 * Calls the carrier for each claimed message in one of the worker's slots, and makes each outcome
 * durable before the slot is free for another call: answers are written in groups (whatever
 * arrived while the previous write ran, one write at a time), and a slot waits for its group. A
 * worker killed at any moment therefore leaves at most one carrier-accepted, unrecorded message
 * per slot. Since the slots are the worker's, not the run's, another run's messages take the
 * slots this one is not using while it claims, waits for its last writes or fetches its next job.
 *
 * Before its call, each message passes the fence (`startCalls`), in groups like the writes, while
 * its slot's previous outcome is written: only a message still this worker's claim, not cancelled
 * and not withdrawn from is called, as soon as that write is durable.
 *
 * No call starts once a write has failed, the run is aborted (shutdown) or the circuit is open.
 * Then the answers not yet written are kept here and written once the database takes them again,
 * and the claims never sent go back to QUEUED, so losing the database sends nothing twice.
 */
export async function sendAndRecord(
  deps: ServiceDeps,
  provider: SmsProvider,
  claimed: readonly ClaimedMessage[],
  control: SendControl,
): Promise<SendResult> {
  const recorded: Recorded[] = [];
  const held: Answered[] = [];
  const unsent: ClaimedMessage[] = [];
  let waiting: { answered: Answered; done: () => void }[] = [];
  let writing = false;
  let writeFailed = false;

  // The fence, one statement at a time per run, for the slots that came free meanwhile.
  // A verdict: call now, call after that many ms (the rate limit's window), or not at all.
  // With each verdict, when the fence was asked: a pause after the stamp committed counts against
  // the message's freshness (below), however late its answer is read.
  let starting: { message: ClaimedMessage; cleared: (verdict: Verdict, askedAt: number) => void }[] = [];
  let fencing = false;
  const fenceGroups = async () => {
    fencing = true;
    // Let every slot freed in this turn (a written group frees several) join the first group.
    await new Promise((resolve) => setImmediate(resolve));
    while (starting.length > 0) {
      const group = starting;
      starting = [];
      let started: Started = { go: new Set(), wait: new Set(), waitMs: 0 };
      const askedAt = performance.now();
      if (!writeFailed)
        try {
          started = await startCalls(
            deps,
            control.workerId ?? null,
            group.map((item) => item.message),
          );
        } catch {
          writeFailed = true;
          unsent.push(...group.map((item) => item.message));
        }
      else unsent.push(...group.map((item) => item.message));
      for (const { message, cleared } of group)
        cleared(started.go.has(message.id) ? 'go' : started.wait.has(message.id) ? started.waitMs : 'drop', askedAt);
    }
    fencing = false;
  };
  const fence = (message: ClaimedMessage) =>
    new Promise<{ verdict: Verdict; askedAt: number }>((resolve) => {
      starting.push({ message, cleared: (verdict, askedAt) => resolve({ verdict, askedAt }) });
      if (!fencing) void fenceGroups();
    });

  // One write at a time per run, of whatever arrived while the previous one ran: under load a
  // second writer only makes the groups smaller and the statements more.
  const writeGroups = async () => {
    writing = true;
    while (waiting.length > 0) {
      const group = waiting;
      waiting = [];
      const answered = group.map((item) => item.answered);
      if (writeFailed) held.push(...answered);
      else
        try {
          recorded.push(...(await recordOutcomes(deps, answered, deps.now())));
        } catch (error) {
          // One answer the database refuses must not hold the group: each is written on its own.
          const unwritten = await recordEachOutcome(deps, answered, deps.now(), recorded, error);
          if (unwritten.length > 0) {
            writeFailed = true;
            held.push(...unwritten);
          }
        }
      for (const item of group) item.done();
    }
    writing = false;
  };
  const durable = (answered: Answered) =>
    new Promise<void>((done) => {
      waiting.push({ answered, done });
      if (!writing) void writeGroups();
    });

  const stopped = () => writeFailed || control.signal?.aborted === true;
  // A cleared message older than this may have been taken over (its worker paused past half a
  // heartbeat timeout): it is handed back instead of called.
  const freshFor = deps.config.WORKER_HEARTBEAT_TIMEOUT / 2;
  const queue = [...claimed];
  /** The run's next message the fence clears for a call (waiting out the rate limit), or none. */
  const nextCleared = async (): Promise<{ message: ClaimedMessage; at: number } | undefined> => {
    for (let message = queue.shift(); message; message = queue.shift()) {
      let verdict: Verdict = 0;
      let askedAt = 0;
      while (typeof verdict === 'number') {
        if (stopped()) {
          unsent.push(message, ...queue.splice(0));
          return undefined;
        }
        if (verdict > 0) await sleep(verdict);
        ({ verdict, askedAt } = await fence(message));
      }
      // Not called: taken over, cancelled, withdrawn from, or (the database lost) already unsent.
      if (verdict === 'go') return { message, at: askedAt };
    }
    return undefined;
  };

  // Each slot the run gets calls its messages in turn. The fence of a slot's next message runs
  // beside the write of its previous outcome, so the fence adds no round trip to the slot's cycle
  // and the call still follows it at once (as soon as that write is durable).
  const slot = async () => {
    let next = await nextCleared();
    while (next) {
      const { message } = next;
      const fresh = performance.now() - next.at < freshFor;
      const permit = stopped() || !fresh ? undefined : control.breaker ? control.breaker.acquire() : 'call';
      if (!permit) {
        unsent.push(message);
        if (fresh) unsent.push(...queue.splice(0));
        next = fresh ? undefined : await nextCleared();
        continue;
      }
      const outcome = await provider
        .send({
          messageId: message.id,
          to: message.phone,
          body: message.body,
          idempotencyKey: message.idempotency_key,
        })
        .catch((error: unknown): SendOutcome => ({ status: 'retry', error: `provider error: ${String(error)}` }));
      control.breaker?.record(permit, outcome);
      [, next] = await Promise.all([durable({ message, outcome }), nextCleared()]);
    }
  };
  // One task per message, as many as the worker's free slots run: a task started once the run's
  // queue is empty ends at once, leaving its slot to the other loop.
  await Promise.all(claimed.map(() => control.slots(slot)));
  if (held.length === 0 && unsent.length === 0) return { recorded, released: 0 };

  const resumeAt = control.breaker && !control.breaker.isClosed ? control.breaker.reopensAt() : deps.now();
  const released = await untilWritten(deps, () =>
    deps.db.transaction(async (tx) => {
      const rows = await recordOutcomes(deps, held, deps.now(), tx);
      return { rows, released: await releaseClaims(deps, tx, unsent, resumeAt) };
    }),
  );
  recorded.push(...released.rows);
  return { recorded, released: released.released };
}
