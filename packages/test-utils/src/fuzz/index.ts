export * from './leaks.ts';
export * from './operations.ts';
export * from './requests.ts';
export * from './run.ts';
export * from './target.ts';
