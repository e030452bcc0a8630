/**
 * V8 heap settings for the controller process, applied by the CLI before any command runs.
 *
 * The controller is a long-lived daemon whose memory is bounded by the ECS task's limit; V8's
 * defaults favour throughput over footprint. Measured with the store benchmark
 * (bench/store.bench.ts: 10,000 tasks, 200,000 events of churn, 2-core machine; BENCHMARKS.md):
 * - `--no-allocation-site-pretenuring`: V8 notices that task snapshots and the store's path copies
 *   survive a young collection or two and starts allocating them straight into the old generation,
 *   where they die a few thousand events later as old-generation garbage (more full GCs, a bigger
 *   heap). Without pretenuring they die young: peak RSS 250 → ~180 MB, throughput no worse.
 * - `--heap-growing-percent=50`: the old generation may grow to 1.5× the live heap before the next
 *   full GC, instead of V8's dynamic factor (up to 4× under a high allocation rate): ~180 → ~155 MB.
 *   The live heap is small (the store of 10,000 tasks is ~23 MB), so full GCs stay short.
 * Both are read by the garbage collector as it runs, so setting them at start-up through
 * `v8.setFlagsFromString` works (same figures as on the node command line). A third setting,
 * `--max-semi-space-size=8` (young generation 2 × 8 MB instead of 2 × 16 MB: ~155 → ~130 MB), is
 * read only when the heap is created, so it is on the node command line where the daemon is
 * started (the Docker image's ENTRYPOINT) and cannot be set from here.
 *
 * `ECS_INGRESS_V8_FLAGS` replaces the list (space-separated V8 flags); `none` turns it off.
 */
import { setFlagsFromString } from 'node:v8';
import { ConfigError } from '@ecs-ingress/types';

export const V8_FLAGS_VARIABLE = 'ECS_INGRESS_V8_FLAGS';

/** The flags applied when `ECS_INGRESS_V8_FLAGS` is unset. */
export const DEFAULT_V8_FLAGS: readonly string[] = [
  '--no-allocation-site-pretenuring',
  '--heap-growing-percent=50',
];

/** A V8 flag as the command line writes it: `--name` or `--name=value`, nothing else. */
const FLAG = /^--[a-z][a-z0-9_-]*(?:=[A-Za-z0-9._-]+)?$/;

/**
 * The flags `env` asks for: the defaults when the variable is unset or blank, none for `none`,
 * otherwise its space-separated list.
 * @throws ConfigError naming the first token that is not a `--flag[=value]`
 */
export function v8FlagsFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): readonly string[] {
  const raw = env[V8_FLAGS_VARIABLE]?.trim();
  if (raw === undefined || raw === '') return DEFAULT_V8_FLAGS;
  if (raw === 'none') return [];
  const flags = raw.split(/\s+/);
  for (const flag of flags) {
    if (!FLAG.test(flag)) {
      throw new ConfigError(
        V8_FLAGS_VARIABLE,
        `"${flag}" is not a V8 flag (expected --name or --name=value, space-separated, or "none")`,
      );
    }
  }
  return flags;
}

/** Sets `flags` on this process's V8 (the daemon logs them from its configuration). */
export function applyV8Flags(flags: readonly string[]): void {
  for (const flag of flags) setFlagsFromString(flag);
}
