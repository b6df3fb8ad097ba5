export * from './projects.ts';
export * from './recurrence.ts';
export * from './tasks.ts';
export { getTask, listMyTasks, listTasks, toTask } from './tasks-read.ts';
export * from './worklogs.ts';
