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

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`consumer check failed: ${message}`);
}

/** Only typechecked, never run: inference must be exact, not `any`. */
export function inference(client: TouchClient, page: RouterOutputs['users']['list']) {
  const notAny: [IsAny<AppRouter>, IsAny<typeof page>, IsAny<RouterInputs['users']['list']>] = [false, false, false];
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
  return [notAny, total, createdAt, email, sort];
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
  return [`${me.username}: ${total} users, ${roles.length} roles`, `project ${project.name} due ${dueDate}`];
}
