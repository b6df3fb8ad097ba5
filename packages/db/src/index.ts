export * from './client.ts';
export * from './database-unavailable.ts';
export * from './database-url.ts';
export * from './default-admin.ts';
export * from './embedded.ts';
export * from './migrate.ts';
export * as schema from './schema/index.ts';
export * from './seed/defaults.ts';
export * from './seed/index.ts';
