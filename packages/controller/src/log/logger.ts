import type { Logger } from '@ecs-ingress/types';
import { pino } from 'pino';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LEVELS)[number];

export function isLogLevel(value: string): value is LogLevel {
  return (LEVELS as readonly string[]).includes(value);
}

/**
 * One JSON object per line on stdout (or the given fd), with a `component` field on child loggers
 * and `nginx` on lines forwarded from NGINX. Synchronous writes so a crash never eats the last line.
 */
export function createLogger(options: { level?: LogLevel; destination?: number } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { app: 'ecs-ingress' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ dest: options.destination ?? 1, sync: true }),
  ) as unknown as Logger;
}
