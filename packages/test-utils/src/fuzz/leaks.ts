/** What must never reach a client: internals of the server, the database or its secrets. */
const LEAK_PATTERNS: { kind: string; pattern: RegExp }[] = [
  { kind: 'stack trace', pattern: /\bat (?:async )?[\w.<>$[\]]+ \((?:file:\/\/|node:|\/)[^)]*:\d+:\d+\)/ },
  { kind: 'stack trace', pattern: /\bat (?:file:\/\/|node:internal|\/)[^\s"]*:\d+:\d+/ },
  { kind: 'source path', pattern: /node_modules\/|\/src\/[\w/-]+\.ts\b/ },
  {
    kind: 'SQL error',
    pattern:
      /syntax error at or near|violates (?:foreign key|unique|check|not-null|exclusion) constraint|duplicate key value|invalid input syntax for|out of range for type|value too long for type|invalid byte sequence|unsupported Unicode escape|date\/time field value out of range|time zone displacement|operator does not exist|SQLSTATE|current transaction is aborted/i,
  },
  {
    kind: 'SQL text',
    pattern: /\b(?:select\s[\w\s",.*()]{1,200}\sfrom\s+"?\w|insert into\s+"?\w|delete from\s+"?\w)/i,
  },
  { kind: 'database name', pattern: /\b(?:postgres|drizzle|pg-?boss)/i },
  { kind: 'password hash', pattern: /\$argon2(?:id|i|d)\$/ },
];

export interface Leak {
  kind: string;
  match: string;
}

/**
 * The leaks in a response body. A match that also occurs in the request is the client's own
 * text echoed back (a name containing "select … from"), not a leak. `secrets` are values that
 * must not appear anywhere (the JWT secret, the database password).
 */
export function findLeaks(responseText: string, requestText: string, secrets: readonly string[]): Leak[] {
  const leaks: Leak[] = [];
  const echoed = requestText.toLowerCase();
  for (const { kind, pattern } of LEAK_PATTERNS) {
    const match = pattern.exec(responseText)?.[0];
    if (match && !echoed.includes(match.toLowerCase())) leaks.push({ kind, match });
  }
  for (const secret of secrets)
    if (secret && responseText.includes(secret)) leaks.push({ kind: 'secret', match: `${secret.slice(0, 4)}…` });
  return leaks;
}
