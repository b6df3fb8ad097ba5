export * from './auth.ts';
export * from './common.ts';
export * from './customers.ts';
export * from './money.ts';
export * from './orders.ts';
export * from './products.ts';
export * from './promotions.ts';
export * from './work.ts';
