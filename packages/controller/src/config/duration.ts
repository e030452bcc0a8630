/**
 * Durations in configuration: `250ms`, `10s`, `5m`, `1h`, or a plain number of milliseconds
 * (`1500`). Fractions are accepted with a unit (`1.5s`); the result is rounded to whole ms.
 */

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `undefined` when `text` is not a duration. */
export function parseDurationMs(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(text.trim());
  if (!match) return undefined;
  const [, amount, unit] = match;
  if (unit === undefined && amount?.includes('.')) return undefined;
  const ms = Number(amount) * (UNIT_MS[unit ?? 'ms'] ?? 1);
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}

/** `300000` → `5m`, `1500` → `1500ms`: the largest unit that divides evenly, for messages and docs. */
export function formatDurationMs(ms: number): string {
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
