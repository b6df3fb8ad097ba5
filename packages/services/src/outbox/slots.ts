import pLimit, { type LimitFunction } from 'p-limit';

/**
 * A worker's send slots for one channel, shared by its delivery loops (SMS_CONCURRENCY for SMS).
 * A channel that holds a slot from the call until the outcome is written bounds what a killed
 * worker can leave sent but unrecorded by the slots, however many loops run; and a loop busy
 * claiming or between jobs leaves its slots to the others instead of idle.
 */
export type SendSlots = LimitFunction;

export const createSendSlots = (concurrency: number): SendSlots => pLimit(concurrency);
