export * from './boss.ts';
export * from './queues.ts';
