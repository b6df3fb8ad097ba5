/**
 * The server's limits the client keeps to. In the workspace this re-exports the contract's
 * value; the build writes it as a literal, so the package needs nothing from the workspace.
 */
export { TRPC_MAX_BATCH_ITEMS } from '@touch-crm/contract';
