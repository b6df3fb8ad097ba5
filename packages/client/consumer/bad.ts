/**
 * Mistakes the packed client's types must catch. scripts/check-consumer.ts requires the
 * typecheck to fail on exactly the lines with an error comment.
 */
import { createTouchClient, isTouchError } from '@touch-crm/client';

export async function mistakes() {
  const client = createTouchClient({ url: 'http://localhost:3000', token: 'token' });
  await client.auth.login.mutate({ username: 42, password: 'Admin123!' }); // error: wrong input type
  await client.auth.login.mutate({ username: 'admin' }); // error: missing input field
  const session = await client.auth.login.mutate({ username: 'admin', password: 'Admin123!' });
  const expiresAt: Date = session.expiresAt; // error: dates arrive as ISO strings
  const page = await client.users.list.query({ sort: 'password' }); // error: not a sort key
  const total: string = page.total; // error: wrong output type
  const hash = page.items[0]?.passwordHash; // error: no such output field
  await client.customers.list.query({ pageSize: 'ten' }); // error: page sizes are numbers
  await client.customers.list.query({ smsOptIn: 'false' }); // error: filters are booleans, not words
  await client.orders.list.query({ minTotal: '100' }); // error: amounts are numbers
  await client.projects.list.mutate({}); // error: a query is not a mutation
  await client.auth.logoutEverywhere.mutate(); // error: no such procedure
  createTouchClient({ url: 'http://localhost:3000', token: 42 }); // error: wrong option type
  const failure: unknown = new Error('x');
  if (isTouchError(failure, 'CONFLICTED')) return failure; // error: not an error code
  return [expiresAt, total, hash];
}
