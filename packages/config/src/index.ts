import { isIP } from 'node:net';
import { TRPC_MAX_BATCH_ITEMS } from '@touch-crm/contract';
import { z } from 'zod';

const durationPattern = /^(\d+)\s*(s|m|h|d)$/;

/** Parses "12h", "30m", "7d" or a number of seconds into seconds. */
const durationSeconds = z
  .string()
  .trim()
  .transform((value, ctx) => {
    if (/^\d+$/.test(value)) return Number(value);
    const match = durationPattern.exec(value);
    if (!match) {
      ctx.addIssue({ code: 'custom', message: 'expected a duration such as 900, 30m, 12h or 7d' });
      return z.NEVER;
    }
    const factor = { s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as 's' | 'm' | 'h' | 'd'];
    return Number(match[1]) * factor;
  });

const durationUnitsMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses "250ms", "10s", "5m", "1h" or a number of seconds into milliseconds. */
const durationMs = z
  .string()
  .trim()
  .transform((value, ctx) => {
    if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
    const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(value);
    if (!match) {
      ctx.addIssue({ code: 'custom', message: 'expected a duration such as 250ms, 10s, 5m or 1h' });
      return z.NEVER;
    }
    return Math.round(Number(match[1]) * durationUnitsMs[match[2] as keyof typeof durationUnitsMs]);
  });

/** A 5-field cron expression (minute hour day-of-month month day-of-week), or `off`. */
const cron = z
  .string()
  .trim()
  .refine((value) => value === 'off' || /^\S+(\s+\S+){4}$/.test(value), {
    message: 'expected a 5-field cron expression such as "0 2 * * *", or off',
  });

/** `HH:MM-HH:MM` in APP_TIMEZONE (may wrap midnight), or `off`. */
const quietHours = z
  .string()
  .trim()
  .transform((value, ctx) => {
    if (value === 'off') return null;
    const match = /^([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-3]):([0-5]\d)$/.exec(value);
    if (!match) {
      ctx.addIssue({ code: 'custom', message: 'expected HH:MM-HH:MM such as 21:00-08:00, or off' });
      return z.NEVER;
    }
    const start = Number(match[1]) * 60 + Number(match[2]);
    const end = Number(match[3]) * 60 + Number(match[4]);
    if (start === end) {
      ctx.addIssue({ code: 'custom', message: 'start and end must differ (use off to disable)' });
      return z.NEVER;
    }
    return { start, end };
  });

/** One WEBHOOK_ALLOWED_HOSTS entry: a host name (optionally with a port) or an address range. */
export type AllowedHost =
  | { kind: 'host'; host: string; port: number | null }
  | { kind: 'range'; address: string; prefix: number; family: 4 | 6 };

/** `host`, `host:port`, `[v6]:port`, an IP address or a CIDR range, comma-separated. */
const allowedHosts = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const entries: AllowedHost[] = [];
    for (const raw of value.split(',')) {
      const entry = raw.trim().toLowerCase();
      if (!entry) continue;
      const cidr = /^([^/]+)\/(\d{1,3})$/.exec(entry);
      const family = isIP(cidr ? (cidr[1] as string) : entry);
      if (cidr || family) {
        const address = cidr ? (cidr[1] as string) : entry;
        const version = isIP(address) as 0 | 4 | 6;
        const prefix = cidr ? Number(cidr[2]) : version === 4 ? 32 : 128;
        if (version === 0 || prefix > (version === 4 ? 32 : 128)) {
          ctx.addIssue({ code: 'custom', message: `"${entry}" is not a valid address or CIDR range` });
          return z.NEVER;
        }
        entries.push({ kind: 'range', address, prefix, family: version });
        continue;
      }
      const match = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9.-]+))(?::(\d{1,5}))?$/.exec(entry);
      const port = match?.[3] ? Number(match[3]) : null;
      if (!match || (port !== null && (port < 1 || port > 65_535))) {
        ctx.addIssue({ code: 'custom', message: `"${entry}" is not a host, host:port, address or CIDR range` });
        return z.NEVER;
      }
      entries.push({ kind: 'host', host: (match[1] ?? match[2]) as string, port });
    }
    return entries;
  });

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

/** A zone name, not a UTC offset (`+06:30`): PostgreSQL reads offsets with the opposite sign to Intl's. */
const timeZone = z.string().refine(
  (zone) => {
    if (!/^[A-Za-z]/.test(zone)) return false;
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected an IANA time zone such as UTC or Europe/Berlin' },
);

/** Every environment variable the processes read. `.env.example` documents each one. */
export const configSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
    HOST: z.string().default('0.0.0.0'),
    PUBLIC_URL: z.url().optional(),
    DATABASE_URL: z.url().optional(),
    DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
    DATA_DIR: z.string().default('.data'),
    EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65_535).default(54_329),
    JWT_SECRET: z.string().optional(),
    JWT_TTL: durationSeconds.default(12 * 3600),
    JWT_ISSUER: z.string().default('touch-crm'),
    JWT_AUDIENCE: z.string().default('touch-crm-api'),
    ADMIN_PASSWORD: z.string().min(8).optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    BODY_LIMIT_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .default(1024 * 1024),
    TRUST_PROXY: booleanFlag.default(false),
    /** Trusted proxies that append to X-Forwarded-For; the client is this many entries from the right. */
    TRUST_PROXY_HOPS: z.coerce.number().int().min(1).max(10).default(1),
    APP_TIMEZONE: timeZone.default('UTC'),
    CURRENCY: z
      .string()
      .regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code such as USD')
      .default('USD'),
    DEFAULT_PHONE_REGION: z
      .string()
      .regex(/^[A-Z]{2}$/, 'expected an ISO 3166 region such as US')
      .default('US'),
    LOGIN_MAX_FAILURES_PER_USER: z.coerce.number().int().min(1).default(5),
    LOGIN_MAX_FAILURES_PER_IP: z.coerce.number().int().min(1).default(30),
    LOGIN_FAILURE_WINDOW: durationSeconds.default(15 * 60),
    // Idempotent writes and rate limits on /trpc and /api/v1 (issue 16).
    /** How long a POST's answer is kept for retries with the same Idempotency-Key. */
    IDEMPOTENCY_TTL: durationSeconds.default(24 * 3600),
    /** Window of every rate limit below (fixed windows, shared by all API processes). */
    RATE_LIMIT_WINDOW: durationSeconds.default(60),
    RATE_LIMIT_PER_PRINCIPAL: z.coerce.number().int().min(1).default(6000),
    RATE_LIMIT_PER_IP: z.coerce.number().int().min(1).default(600),
    /** Per principal and window, on top of the default limit: CSV exports, CSV imports, campaign executions. */
    RATE_LIMIT_EXPORTS: z.coerce.number().int().min(1).default(30),
    RATE_LIMIT_IMPORTS: z.coerce.number().int().min(1).default(10),
    RATE_LIMIT_CAMPAIGN_EXECUTE: z.coerce.number().int().min(1).default(30),
    START_WORKER: booleanFlag.default(true),
    /** Comma-separated origins allowed to call the API from a browser; `*` for any; empty for none. */
    CORS_ORIGINS: z
      .string()
      .default('')
      .transform((value) =>
        value
          .split(',')
          .map((origin) => origin.trim())
          .filter(Boolean),
      ),
    REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
    /** Largest CSV accepted by POST /customers/import (that route only; BODY_LIMIT_BYTES elsewhere). */
    IMPORT_MAX_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .default(20 * 1024 * 1024),
    IMPORT_MAX_ROWS: z.coerce.number().int().min(1).max(1_000_000).default(100_000),
    /** Bearer token Prometheus sends to GET /metrics; unset, /metrics answers 404. */
    METRICS_TOKEN: z.string().min(16, 'METRICS_TOKEN must be at least 16 characters').optional(),
    /** Most calls one tRPC batch may carry (the published client's batch link sends at most the default). */
    TRPC_MAX_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(TRPC_MAX_BATCH_ITEMS),
    /** Connections of the exports' own pool, apart from DATABASE_POOL_SIZE. */
    EXPORT_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(4),
    EXPORT_MAX_CONCURRENT: z.coerce.number().int().min(1).max(100).default(4),
    EXPORT_MAX_PER_USER: z.coerce.number().int().min(1).max(100).default(2),
    /** An export whose client takes no data for this long is ended and its cursor closed. */
    EXPORT_IDLE_TIMEOUT: durationMs.default(30_000),

    // Worker, SMS delivery and the automated messages (issue 6).
    SMS_PROVIDER: z.enum(['console', 'http', 'twilio']).default('console'),
    SMS_HTTP_URL: z.url().optional(),
    SMS_HTTP_TOKEN: z.string().optional(),
    TWILIO_ACCOUNT_SID: z.string().optional(),
    TWILIO_AUTH_TOKEN: z.string().optional(),
    TWILIO_FROM: z.string().optional(),
    TWILIO_MESSAGING_SERVICE_SID: z.string().optional(),
    TWILIO_BASE_URL: z.url().default('https://api.twilio.com'),
    /** The http provider's inbound and status callbacks are signed with this (HMAC-SHA256). */
    SMS_INBOUND_SECRET: z.string().min(16).optional(),
    /** A signed carrier callback older or newer than this is refused (replay window). */
    SMS_INBOUND_TOLERANCE: durationMs.default(300_000),
    /** Opt-out keywords besides the ones the law names (STOP, QUIT, END, …), comma-separated. */
    SMS_STOP_KEYWORDS: z
      .string()
      .default('')
      .transform((value) =>
        value
          .split(',')
          .map((word) => word.trim())
          .filter(Boolean),
      ),
    SMS_RATE_PER_SECOND: z.coerce.number().int().min(0).default(0),
    SMS_QUIET_HOURS: quietHours.default({ start: 21 * 60, end: 8 * 60 }),
    /** Marketing SMS per customer in any rolling 24 h; more wait for a free slot (Florida allows 3). */
    SMS_MARKETING_MAX_PER_DAY: z.coerce.number().int().min(1).max(1000).default(3),
    /** Marketing SMS per customer in any rolling 7 days; unset: no weekly cap. */
    SMS_MARKETING_MAX_PER_WEEK: z.coerce.number().int().min(1).max(7000).optional(),
    SMS_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(5),
    SMS_RETRY_DELAY: durationMs.default(30_000),
    SMS_RETRY_MAX_DELAY: durationMs.default(3_600_000),
    SMS_HTTP_TIMEOUT: durationMs.default(10_000),
    SMS_SENDING_LEASE: durationMs.default(60_000),
    SMS_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(64),
    SMS_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(200),
    SMS_RECOVERY_INTERVAL: durationMs.default(15_000),
    INACTIVITY_DAYS: z.coerce.number().int().min(1).default(90),
    INACTIVITY_COOLDOWN_DAYS: z.coerce.number().int().min(0).default(30),
    RFM_WINDOW_DAYS: z.coerce.number().int().min(1).default(365),
    CRON_RFM_SCORE: cron.default('0 2 * * *'),
    CRON_BIRTHDAY_MESSAGES: cron.default('0 9 * * *'),
    CRON_INACTIVITY_MESSAGES: cron.default('0 10 * * 1'),
    CRON_RECURRING_TASKS: cron.default('0 6 * * *'),
    CRON_CAMPAIGN_DISPATCH: cron.default('* * * * *'),
    CRON_LOGIN_FAILURES_PRUNE: cron.default('17 * * * *'),
    CRON_REQUEST_RECORDS_PRUNE: cron.default('*/10 * * * *'),
    WORKER_POLL_INTERVAL: durationMs.default(2_000),
    WORKER_CRON_INTERVAL: durationMs.default(30_000),
    WORKER_SHUTDOWN_TIMEOUT: durationMs.default(30_000),
    WORKER_HEARTBEAT_TIMEOUT: durationMs.default(10_000),

    // Outbound webhooks (issue 9).
    /** Hosts and address ranges webhook URLs may use despite the private-address rules (tests, intranets). */
    WEBHOOK_ALLOWED_HOSTS: allowedHosts,
    WEBHOOK_TIMEOUT: durationMs.default(10_000),
    WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(32),
    WEBHOOK_RETRY_DELAY: durationMs.default(30_000),
    WEBHOOK_RETRY_MAX_DELAY: durationMs.default(3_600_000),
    WEBHOOK_DISABLE_AFTER: durationMs.default(86_400_000),
    WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(16),
    WEBHOOK_RECOVERY_INTERVAL: durationMs.default(5_000),
  })
  .superRefine((config, ctx) => {
    if (config.NODE_ENV === 'production') {
      if (!config.JWT_SECRET || Buffer.byteLength(config.JWT_SECRET) < 32) {
        ctx.addIssue({
          code: 'custom',
          path: ['JWT_SECRET'],
          message: 'JWT_SECRET of at least 32 bytes is required when NODE_ENV=production',
        });
      }
    } else if (config.JWT_SECRET && Buffer.byteLength(config.JWT_SECRET) < 32) {
      ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'JWT_SECRET must be at least 32 bytes' });
    }
    if (config.SMS_PROVIDER === 'http' && !config.SMS_HTTP_URL)
      ctx.addIssue({
        code: 'custom',
        path: ['SMS_HTTP_URL'],
        message: 'SMS_HTTP_URL is required when SMS_PROVIDER=http',
      });
    if (config.SMS_PROVIDER === 'twilio') {
      for (const key of ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN'] as const)
        if (!config[key])
          ctx.addIssue({ code: 'custom', path: [key], message: `${key} is required when SMS_PROVIDER=twilio` });
      if (!config.TWILIO_FROM && !config.TWILIO_MESSAGING_SERVICE_SID)
        ctx.addIssue({
          code: 'custom',
          path: ['TWILIO_FROM'],
          message: 'TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID is required when SMS_PROVIDER=twilio',
        });
    }
    if (config.SMS_SENDING_LEASE <= config.SMS_HTTP_TIMEOUT)
      ctx.addIssue({
        code: 'custom',
        path: ['SMS_SENDING_LEASE'],
        message: 'SMS_SENDING_LEASE must be longer than SMS_HTTP_TIMEOUT, or a slow send could be sent twice',
      });
    if (config.EXPORT_MAX_CONCURRENT > config.EXPORT_POOL_SIZE)
      ctx.addIssue({
        code: 'custom',
        path: ['EXPORT_MAX_CONCURRENT'],
        message: 'EXPORT_MAX_CONCURRENT must not exceed EXPORT_POOL_SIZE, or an admitted export waits for a connection',
      });
    if (config.WORKER_HEARTBEAT_TIMEOUT < 500)
      ctx.addIssue({ code: 'custom', path: ['WORKER_HEARTBEAT_TIMEOUT'], message: 'must be at least 500ms' });
    if (config.WORKER_CRON_INTERVAL < 1_000 || config.WORKER_CRON_INTERVAL > 45_000)
      ctx.addIssue({ code: 'custom', path: ['WORKER_CRON_INTERVAL'], message: 'must be from 1s to 45s' });
    if (config.WORKER_POLL_INTERVAL < 500)
      ctx.addIssue({ code: 'custom', path: ['WORKER_POLL_INTERVAL'], message: 'must be at least 500ms' });
  });

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Parses the environment once; a bad value throws a ConfigError naming each variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = configSchema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`));
  }
  return result.data;
}

/** For process entry points: a bad configuration prints the variables at fault and exits. */
export function loadConfigOrExit(env: Record<string, string | undefined> = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}
