export * from './projects.ts';
export * from './recurrence.ts';
export * from './tasks.ts';
export * from './worklogs.ts';
