export * from './idempotency.ts';
export * from './principal.ts';
export * from './rate-limits.ts';
