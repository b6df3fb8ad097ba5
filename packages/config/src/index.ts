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

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const timeZone = z.string().refine(
  (zone) => {
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
