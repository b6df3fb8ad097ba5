/**
 * A third-party program using the packed client (scripts/check-consumer.ts copies it into a
 * fresh project outside the workspace). It must typecheck strictly without skipLibCheck, and
 * `run` must succeed against a live server.
 */
import {
  type AppRouter,
  createTouchClient,
  isTouchError,
  type RouterInputs,
  type RouterOutputs,
  type TouchClient,
} from '@touch-crm/client';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type IsAny<T> = 0 extends 1 & T ? true : false;
/** Named keys only: a free-form map (`Record<string, unknown>`, a job's payload) is typed as one. */
type NamedKeys<T> = keyof { [K in keyof T as string extends K ? never : number extends K ? never : K]: 0 } & string;
/** Paths of the input fields typed `unknown`, as a coercing schema without an input type makes them. */
type UnknownFields<T, Path extends string = ''> = unknown extends T
  ? Path
  : T extends readonly (infer Item)[]
    ? UnknownFields<Item, `${Path}[]`>
    : T extends object
      ? { [K in NamedKeys<T>]-?: UnknownFields<T[K], `${Path}.${K}`> }[NamedKeys<T>]
      : never;

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`consumer check failed: ${message}`);
}

/** Only typechecked, never run: inference must be exact, not `any`. */
export function inference(client: TouchClient, page: RouterOutputs['users']['list']) {
  const notAny: [IsAny<AppRouter>, IsAny<typeof page>, IsAny<RouterInputs['users']['list']>] = [false, false, false];
  const noUnknownInputs: Equal<UnknownFields<RouterInputs>, never> = true;
  const pageSize: Equal<RouterInputs['customers']['list']['pageSize'], number | undefined> = true;
  const smsOptIn: Equal<RouterInputs['customers']['list']['smsOptIn'], boolean | undefined> = true;
  const total: Equal<typeof page.total, number> = true;
  const createdAt: Equal<RouterOutputs['users']['get']['createdAt'], string> = true;
  const email: Equal<RouterOutputs['auth']['me']['email'], string | null> = true;
  const sort: Equal<
    RouterInputs['projects']['list']['sort'],
    'name' | 'createdAt' | 'dueDate' | '-name' | '-createdAt' | '-dueDate' | undefined
  > = true;
  // @ts-expect-error users carry no password hash
  page.items[0]?.passwordHash;
  // @ts-expect-error login takes a username, not a number
  void client.auth.login.mutate({ username: 1, password: 'x' });
  // @ts-expect-error login is a mutation
  void client.auth.login.query({ username: 'admin', password: 'x' });
  // @ts-expect-error no such procedure
  void client.users.purge.mutate();
  return [notAny, noUnknownInputs, pageSize, smsOptIn, total, createdAt, email, sort];
}

export async function run(url: string): Promise<string[]> {
  const anonymous = createTouchClient({ url });
  const session = await anonymous.auth.login.mutate({ username: 'admin', password: 'Admin123!' });
  const expiresAt: string = session.expiresAt;
  check(!Number.isNaN(Date.parse(expiresAt)), 'expiresAt is an ISO date string');

  let token: string | undefined = session.token;
  const client = createTouchClient({ url, getToken: () => token, headers: { 'x-request-id': 'consumer-check' } });
  const [me, users, roles] = await Promise.all([
    client.auth.me.query(),
    client.users.list.query({ page: 1, pageSize: 5, sort: '-createdAt' }),
    client.roles.list.query(),
  ]);
  check(me.username === 'admin' && me.permissions.includes('users:create'), 'auth.me is the admin');
  const total: number = users.total;
  check(total >= 1 && users.items.some((user) => user.username === 'admin'), 'users.list has the admin');
  check(
    roles.some((role) => role.name === 'Administrator'),
    'roles.list has the administrator role',
  );

  const project = await client.projects.create.mutate({ name: 'Consumer check', dueDate: '2030-01-31' });
  const projects = await client.projects.list.query({ search: 'Consumer check' });
  check(
    projects.items.some((item) => item.id === project.id),
    'projects.list finds the new project',
  );
  const dueDate: string | null = project.dueDate;

  // Unique per run: the check runs this once per tRPC version against the same server.
  const run = String(Math.floor(Math.random() * 1_000_000)).padStart(6, '0');
  const customer = await client.customers.create.mutate({
    firstName: 'Consumer',
    lastName: `Check ${run}`,
    phone: `+12025${run}`,
  });
  const product = await client.products.create.mutate({ sku: `CC-${run}`, name: 'Consumer check', unitPrice: 1999 });
  const order = await client.orders.create.mutate({
    customerId: customer.id,
    items: [{ productId: product.id, quantity: 2 }],
    payment: { method: 'CARD' },
  });
  const orderTotal: number = order.total;
  check(order.status === 'PAID' && orderTotal === 3998, 'a paid order of two items at 19.99');
  const buyers = await client.customers.list.query({ search: `Check ${run}`, minTotalSpent: 3998, smsOptIn: true });
  check(buyers.items[0]?.id === customer.id, 'customers.list filters by money and a boolean');

  try {
    const roleId = roles[0]?.id ?? '';
    await client.auth.register.mutate({ username: 'admin', password: 'Password123!', fullName: 'Twin', roleId });
    throw new Error('registering a second admin succeeded');
  } catch (error) {
    check(isTouchError(error, 'CONFLICT'), 'a taken username is a CONFLICT');
    const status: number = error.data.httpStatus;
    check(status === 409, 'CONFLICT is HTTP 409');
  }

  token = undefined;
  const signedOut = await client.auth.me.query().catch((error: unknown) => error);
  check(isTouchError(signedOut, 'UNAUTHORIZED'), 'without a token auth.me is UNAUTHORIZED');
  return [
    `${me.username}: ${total} users, ${roles.length} roles`,
    `project ${project.name} due ${dueDate}`,
    `order ${order.number}: ${orderTotal} for ${customer.firstName} ${customer.lastName}`,
  ];
}
