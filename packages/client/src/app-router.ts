/**
 * The server's router type, for the workspace (the tests and the typecheck use the source).
 * The build replaces this module's declarations with a self-contained copy of the router's
 * procedures (scripts/router-declarations.ts), so the package never points into the server.
 */
export type { AppRouter } from '@touch-crm/api';
