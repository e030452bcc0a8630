/**
 * The reconciler's timing options, validated once when it is created (pipeline.ts's file comment
 * says what each one does). A negative, infinite or NaN value, or a debounce whose max is below its
 * min, throws a `ConfigError` naming the option.
 */
import { ConfigError } from '@ecs-ingress/types';
import type { ReconcilerOptions } from './reconciler-types.js';

export interface DebounceWait {
  readonly minMs: number;
  readonly maxMs: number;
}

export interface ReconcilerTiming {
  /** `debounce`: the wait of an ordinary change (default min 200 ms / max 2 s). */
  readonly slowWait: DebounceWait;
  /** `quickChange.debounce`: the wait of a quick change (default min 0 / max 100 ms). */
  readonly quickWait: DebounceWait;
  /** `minReloadIntervalMs`: the least time between the end of an apply and the next start (default 1 s). */
  readonly minReloadIntervalMs: number;
}

export function reconcilerTiming(
  options: Pick<ReconcilerOptions<unknown>, 'debounce' | 'quickChange' | 'minReloadIntervalMs'>,
): ReconcilerTiming {
  return {
    slowWait: debounceOf('debounce', options.debounce, 200, 2000),
    quickWait: debounceOf('quickChange.debounce', options.quickChange?.debounce, 0, 100),
    minReloadIntervalMs: nonNegative('minReloadIntervalMs', options.minReloadIntervalMs ?? 1000),
  };
}

function nonNegative(variable: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new ConfigError(variable, `must be a finite number ≥ 0, got ${value}`);
  }
  return value;
}

function debounceOf(
  name: string,
  given: { minMs?: number; maxMs?: number } | undefined,
  defaultMin: number,
  defaultMax: number,
): DebounceWait {
  const minMs = nonNegative(`${name}.minMs`, given?.minMs ?? defaultMin);
  const maxMs = nonNegative(`${name}.maxMs`, given?.maxMs ?? defaultMax);
  if (maxMs < minMs) throw new ConfigError(`${name}.maxMs`, `must be ≥ ${name}.minMs (${minMs})`);
  return { minMs, maxMs };
}
