export * from './csv.ts';
export * from './export.ts';
