export * from './auth.ts';
export * from './commerce.ts';
export * from './customers.ts';
export * from './enums.ts';
export * from './events.ts';
export * from './messaging.ts';
export * from './promotions.ts';
export * from './work.ts';
