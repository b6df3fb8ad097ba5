export * from './csv.ts';
export * from './csv-reader.ts';
export * from './export.ts';
export * from './import/index.ts';
