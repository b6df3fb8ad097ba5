import type { Config } from '@touch-crm/config';
import type { SendOutcome } from './delivery-types.ts';

/** Transient failures in a row (5xx, 429, timeouts, network errors) that open the circuit. */
const OPEN_AFTER_FAILURES = 10;

export type Permit = 'call' | 'probe';

/**
 * One per provider per worker process: a carrier that keeps failing is backed off as a whole
 * instead of message by message. After OPEN_AFTER_FAILURES transient failures in a row no call
 * starts for a cool-down; then one probe goes through: if it succeeds the circuit closes, if not
 * the cool-down doubles (up to its cap). A refused call (4xx) says nothing about the carrier.
 */
export class CircuitBreaker {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #clock: () => number;
  #failures = 0;
  #cooldownMs: number;
  /** 0 while closed. */
  #openUntil = 0;
  #probing = false;
  /** A claim took the probe's message: its call is the probe, even before the window opens again. */
  #probeClaimed = false;

  constructor(options: { baseMs: number; maxMs: number; clock?: () => number }) {
    this.#baseMs = options.baseMs;
    this.#maxMs = options.maxMs;
    this.#cooldownMs = options.baseMs;
    this.#clock = options.clock ?? Date.now;
  }

  /** Cool-down from SMS_RETRY_DELAY (at most 1 s) doubling to 16 times that, within SMS_RETRY_MAX_DELAY. */
  static forConfig(config: Config): CircuitBreaker {
    const baseMs = Math.min(1_000, config.SMS_RETRY_DELAY);
    return new CircuitBreaker({ baseMs, maxMs: Math.min(config.SMS_RETRY_MAX_DELAY, 16 * baseMs) });
  }

  get isClosed(): boolean {
    return this.#openUntil === 0;
  }

  /**
   * How many messages a claim may take now: all, one (the probe), or none. Only one claim gets the
   * probe: the other loops wait a base cool-down for its answer (or, if that claim found nothing,
   * for the next chance), instead of each claiming a message only to hand it back.
   */
  claimLimit(batch: number): number {
    if (this.isClosed) return batch;
    if (this.#probing || this.#clock() < this.#openUntil) return 0;
    this.#probeClaimed = true;
    this.#openUntil = this.#clock() + this.#baseMs;
    return 1;
  }

  /** While no message may be claimed: when to look again. */
  reopensAt(): Date {
    const at = this.#probing ? this.#clock() + this.#baseMs : this.#openUntil;
    return new Date(Math.max(at, this.#clock()));
  }

  /** Whether one more call may start now; the permit goes back with its outcome to `record`. */
  acquire(): Permit | undefined {
    if (this.isClosed) return 'call';
    if (this.#probing || (!this.#probeClaimed && this.#clock() < this.#openUntil)) return undefined;
    this.#probeClaimed = false;
    this.#probing = true;
    return 'probe';
  }

  record(permit: Permit, outcome: SendOutcome): void {
    if (permit === 'probe') this.#probing = false;
    this.#probeClaimed = false;
    if (outcome.status !== 'retry') {
      this.#failures = 0;
      this.#openUntil = 0;
      this.#cooldownMs = this.#baseMs;
      return;
    }
    if (permit === 'probe') {
      this.#cooldownMs = Math.min(this.#maxMs, this.#cooldownMs * 2);
      this.#openUntil = this.#clock() + this.#cooldownMs;
      return;
    }
    if (this.isClosed && ++this.#failures >= OPEN_AFTER_FAILURES) this.#openUntil = this.#clock() + this.#cooldownMs;
  }
}
