/**
 * The one retry delay of ecs-ingress: exponential backoff with "equal jitter" (AWS Architecture
 * Blog, "Exponential Backoff and Jitter"). Attempt n waits between half and all of
 * min(max, initial·2^(n-1)): the random half spreads daemons that failed together (a throttled
 * API, a restarted endpoint) so they do not retry in step; the fixed half keeps a retry from ever
 * coming at once after a failure, which full jitter allows.
 */

/** Delays of a backoff: the first retry's (before jitter), and the cap. */
export interface BackoffPolicy {
  /** Delay of attempt 1, before jitter. */
  readonly initialMs: number;
  /** Upper bound of the delay. */
  readonly maxMs: number;
}

/** 2^30 · initial overflows nothing and is far beyond any cap: the exponent stops growing there. */
const MAX_EXPONENT = 30;

/**
 * The delay before retry `attempt` (1 = the first retry), in whole ms, in
 * [base/2, base] with base = min(maxMs, initialMs·2^(attempt-1)).
 * @param random jitter source in [0, 1); tests pass a fixed one. `() => 1` gives the base itself.
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(1, Math.floor(attempt)) - 1, MAX_EXPONENT);
  const base = Math.min(Math.max(policy.initialMs, policy.maxMs), policy.initialMs * 2 ** exponent);
  return Math.round(base / 2 + (base / 2) * Math.min(1, Math.max(0, random())));
}
