import { type SQL, sql } from 'drizzle-orm';
import { at } from '../lib/sql.ts';
import type { QuietHours } from './time.ts';

/**
 * SQL for the first minute at or after `now` (an instant, or SQL for one) outside quiet hours in
 * the time zone `zone` (an SQL text expression, one per recipient), as `nextAllowedMinute` computes it for one zone: the
 * wall clock is read in the zone, and the end of quiet hours on that day (or the next) is turned
 * back into an instant by PostgreSQL's own time zone rules, DST included.
 */
export function nextAllowedSql(now: Date | SQL, quiet: QuietHours | null, zone: SQL): SQL {
  const instant = now instanceof Date ? at(now) : sql`(${now})`;
  if (!quiet) return instant;
  const local = sql`(${instant} at time zone ${zone})`;
  const minute = sql`(extract(hour from ${local}) * 60 + extract(minute from ${local}))`;
  const inQuiet =
    quiet.start < quiet.end
      ? sql`(${minute} >= ${quiet.start} and ${minute} < ${quiet.end})`
      : sql`(${minute} >= ${quiet.start} or ${minute} < ${quiet.end})`;
  // Quiet hours end later today when we are before their end, else tomorrow.
  const endDay = sql`(date_trunc('day', ${local}) + case when ${minute} < ${quiet.end} then interval '0 days' else interval '1 day' end)`;
  return sql`case when ${inQuiet}
    then (${endDay} + make_interval(mins => ${quiet.end})) at time zone ${zone}
    else ${instant} end`;
}
