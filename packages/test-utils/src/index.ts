export * from './carrier.ts';
export * from './carrier-callbacks.ts';
export * from './database.ts';
export * from './factories.ts';
export * from './harness.ts';
export * from './ports.ts';
export * from './programs.ts';
