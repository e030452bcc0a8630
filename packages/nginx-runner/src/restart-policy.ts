/**
 * When NGINX dies unexpectedly: restart after an exponentially growing delay, and give up (crash
 * loop) after too many restarts within a sliding window. Pure bookkeeping over timestamps, so the
 * policy is tested without processes or timers.
 */

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

  constructor(private readonly backoff: RestartBackoff = DEFAULT_RESTART_BACKOFF) {}

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
    const delayMs = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** (attempt - 1));
    return { action: 'restart', delayMs, attempt };
  }

  /** Forget past crashes (a deliberate stop/start is not a crash loop). */
  reset(): void {
    this.restarts.length = 0;
  }
}
