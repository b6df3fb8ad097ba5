export * from './address-rules.ts';
export * from './deliveries-of-subscription.ts';
export * from './delivery.ts';
export * from './http.ts';
export * from './reaction.ts';
export * from './signing.ts';
export * from './subscriptions.ts';
export * from './url-safety.ts';
