export { cancelOrder } from './cancel.ts';
export { createOrder } from './place.ts';
export { getOrder, listOrders, orderFilters } from './read.ts';
