/**
 * Most calls one tRPC batch request may carry. The server refuses larger batches (400, its
 * default TRPC_MAX_BATCH_SIZE) and the published client's batch link splits at this size.
 */
export const TRPC_MAX_BATCH_ITEMS = 20;
