import { type Executor, schema } from '@touch-crm/db';
import { inArray, sql } from 'drizzle-orm';
import { ValidationError } from '../errors.ts';

const { timeZoneNames } = schema;

/**
 * PostgreSQL's spelling of each of `zones` it knows, by the lower-cased name asked for. The
 * campaign, message and quiet-hours statements read a customer's zone, so it must be one of the
 * server's: Node's Intl also takes names PostgreSQL lacks (Canada/East-Saskatchewan) and offsets it
 * reads with the opposite sign (+06:30).
 */
export async function knownTimeZones(executor: Executor, zones: readonly string[]): Promise<Map<string, string>> {
  const wanted = [...new Set(zones.map((zone) => zone.toLowerCase()))];
  if (wanted.length === 0) return new Map();
  const lower = sql<string>`lower(${timeZoneNames.name})`;
  const found = await executor
    .select({ key: lower, name: timeZoneNames.name })
    .from(timeZoneNames)
    .where(inArray(lower, wanted));
  return new Map(found.map((row) => [row.key, row.name]));
}

/** The zone as the server spells it, or a 400 on `timeZone`. */
export async function knownTimeZone(executor: Executor, zone: string): Promise<string> {
  const name = (await knownTimeZones(executor, [zone])).get(zone.toLowerCase());
  if (!name) throw ValidationError.field('timeZone', 'expected an IANA time zone such as America/New_York');
  return name;
}
