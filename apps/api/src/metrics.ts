import type postgres from 'postgres';

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

interface Series {
  buckets: number[];
  sum: number;
  count: number;
}

/** A route label with bounded cardinality: ids become `{id}`, tRPC batches become `batch`. */
export function routeLabel(path: string): string {
  if (path.startsWith('/trpc/')) {
    const procedure = path.slice('/trpc/'.length);
    return procedure.includes(',') ? '/trpc/batch' : `/trpc/${procedure}`;
  }
  return path.replace(UUID, '{id}');
}

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/**
 * Prometheus metrics in the text exposition format: a request latency histogram, and at
 * scrape time the job counts per queue and state and the SMS counts per status.
 */
export class Metrics {
  private readonly requests = new Map<string, Series>();

  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `method="${escapeLabel(method)}",route="${escapeLabel(route)}",status="${status}"`;
    let series = this.requests.get(key);
    if (!series) {
      series = { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.requests.set(key, series);
    }
    for (const [index, bound] of BUCKETS.entries())
      if (seconds <= bound) series.buckets[index] = (series.buckets[index] ?? 0) + 1;
    series.sum += seconds;
    series.count += 1;
  }

  async render(sql: postgres.Sql): Promise<string> {
    const lines = [
      '# HELP touch_crm_http_request_duration_seconds HTTP request latency.',
      '# TYPE touch_crm_http_request_duration_seconds histogram',
    ];
    for (const [labels, series] of this.requests) {
      for (const [index, bound] of BUCKETS.entries())
        lines.push(`touch_crm_http_request_duration_seconds_bucket{${labels},le="${bound}"} ${series.buckets[index]}`);
      lines.push(`touch_crm_http_request_duration_seconds_bucket{${labels},le="+Inf"} ${series.count}`);
      lines.push(`touch_crm_http_request_duration_seconds_sum{${labels}} ${series.sum}`);
      lines.push(`touch_crm_http_request_duration_seconds_count{${labels}} ${series.count}`);
    }
    lines.push('# HELP touch_crm_messages SMS messages by status.', '# TYPE touch_crm_messages gauge');
    for (const row of await sql<{ status: string; count: number }[]>`
      select status::text, count(*)::int as count from message_queue group by status order by status`)
      lines.push(`touch_crm_messages{status="${row.status}"} ${row.count}`);
    lines.push('# HELP touch_crm_jobs Background jobs by queue and state.', '# TYPE touch_crm_jobs gauge');
    const jobs = await sql<{ name: string; state: string; count: number }[]>`
      select name, state::text, count(*)::int as count from pgboss.job group by name, state order by name, state`.catch(
      () => [],
    );
    for (const row of jobs)
      lines.push(`touch_crm_jobs{queue="${escapeLabel(row.name)}",state="${row.state}"} ${row.count}`);
    return `${lines.join('\n')}\n`;
  }
}
