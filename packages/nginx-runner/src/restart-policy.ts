/**
 * When NGINX dies unexpectedly: restart after an exponentially growing, jittered delay (the shared
 * `backoffDelay`), and give up (crash
 * loop) after too many restarts within a sliding window. Pure bookkeeping over timestamps, so the
 * policy is tested without processes or timers.
 */

import { backoffDelay } from '@ecs-ingress/types';

export interface RestartBackoff {
  /** Delay before the first restart in a window. */
  initialMs: number;
  /** Upper bound of the delay. */
  maxMs: number;
  /** Restarts allowed within `windowMs`; one more crash means a crash loop. */
  maxRestartsInWindow: number;
  windowMs: number;
}

export const DEFAULT_RESTART_BACKOFF: RestartBackoff = {
  initialMs: 100,
  maxMs: 5_000,
  maxRestartsInWindow: 5,
  windowMs: 60_000,
};

export type RestartDecision =
  | { action: 'restart'; delayMs: number /** 1 for the first restart in the window. */; attempt: number }
  | { action: 'give-up'; restartsInWindow: number };

export class RestartPolicy {
  private readonly restarts: number[] = [];

  /** @param random jitter source in [0, 1) (tests pass `() => 1`: the delay is then the base). */
  constructor(
    private readonly backoff: RestartBackoff = DEFAULT_RESTART_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** Called on each unexpected exit: what to do now. Records the restart it allows. */
  onCrash(now: number): RestartDecision {
    while (this.restarts.length > 0 && now - (this.restarts[0] ?? now) >= this.backoff.windowMs) {
      this.restarts.shift();
    }
    if (this.restarts.length >= this.backoff.maxRestartsInWindow) {
      return { action: 'give-up', restartsInWindow: this.restarts.length };
    }
    this.restarts.push(now);
    const attempt = this.restarts.length;
    const delayMs = backoffDelay(attempt, this.backoff, this.random);
    return { action: 'restart', delayMs, attempt };
  }

  /** Forget past crashes (a deliberate stop/start is not a crash loop). */
  reset(): void {
    this.restarts.length = 0;
  }
}
