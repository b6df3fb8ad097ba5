import pino from 'pino';

/** Structured JSON logs; request bodies and headers are never logged, so neither are passwords or tokens. */
export const createLogger = (level: string, name: string) =>
  pino({ level, name, redact: ['*.password', '*.token', '*.authorization', '*.passwordHash'] });
