export * from './automated.ts';
export * from './carrier-errors.ts';
export * from './carrier-text.ts';
export { CircuitBreaker } from './circuit-breaker.ts';
export * from './consent.ts';
export * from './delivery.ts';
export * from './delivery-recovery.ts';
export { countedMarketingSql } from './frequency-cap.ts';
export * from './inbound.ts';
export * from './keywords.ts';
export * from './messages.ts';
export * from './one-to-one.ts';
export {
  isMarketing,
  MARKETING_TYPES,
  SKIPPED_CUSTOMER_DELETED,
  SKIPPED_OPTED_OUT,
  SKIPPED_WITHDRAWN,
} from './policy.ts';
export * from './queueing.ts';
export * from './receipts.ts';
export * from './template-language.ts';
export * from './templates.ts';
export * from './time.ts';
export { knownTimeZones } from './time-zone-names.ts';
export * from './welcome.ts';
