import { resolve } from 'node:path';
import { ConfigError } from '@ecs-ingress/types';
import { parseDurationMs } from './duration.js';

/** Reads variables and collects what is wrong instead of throwing on the first problem. */
export class EnvReader {
  readonly errors: ConfigError[] = [];
  constructor(private readonly env: Readonly<Record<string, string | undefined>>) {}

  /** The trimmed value; empty counts as unset (task definitions often carry `""`). */
  raw(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  fail(name: string, message: string): void {
    this.errors.push(new ConfigError(name, message));
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.fail(name, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
    return fallback;
  }

  /** A positive duration (`250ms`, `10s`, `5m`, `1h`, or plain ms). */
  duration(name: string, fallbackMs: number, options: { allowZero?: boolean } = {}): number {
    const value = this.raw(name);
    if (value === undefined) return fallbackMs;
    const ms = parseDurationMs(value);
    if (ms === undefined) {
      this.fail(
        name,
        `expected a duration like 250ms, 10s, 5m, 1h or a number of milliseconds, got ${JSON.stringify(value)}`,
      );
      return fallbackMs;
    }
    if (ms === 0 && !options.allowZero) {
      this.fail(name, 'must be greater than zero');
      return fallbackMs;
    }
    return ms;
  }

  port(name: string, fallback: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) > 65_535) {
      this.fail(name, `must be a TCP port number 0..65535, got ${JSON.stringify(value)}`);
      return fallback;
    }
    return Number(value);
  }

  url(name: string): string | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    try {
      const url = new URL(value);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
      return value;
    } catch {
      this.fail(name, `must be an http(s) URL, got ${JSON.stringify(value)}`);
      return undefined;
    }
  }

  path(name: string, fallback: string): string {
    return resolve(this.string(name, fallback));
  }
}
