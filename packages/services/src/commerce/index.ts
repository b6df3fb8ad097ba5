export * from './customers.ts';
export { customerFilters, getCustomer, listCustomers } from './customers-read.ts';
export * from './orders/index.ts';
export * from './phone.ts';
export * from './products.ts';
export { assignLevelPromotions } from './promotion-assignment.ts';
export * from './promotions.ts';
