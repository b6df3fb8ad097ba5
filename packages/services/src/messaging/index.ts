export * from './automated.ts';
export * from './delivery.ts';
export * from './messages.ts';
export { isMarketing, MARKETING_TYPES, SKIPPED_CUSTOMER_DELETED, SKIPPED_OPTED_OUT } from './policy.ts';
export * from './queueing.ts';
export * from './template-language.ts';
export * from './templates.ts';
export * from './time.ts';
export * from './welcome.ts';
