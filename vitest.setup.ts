import { provideApi } from '@touch-crm/test-utils';

// The harness starts the real API app; it is handed in here so packages/test-utils never imports an app.
provideApi(async () => (await import('@touch-crm/api-server')).startApi);
