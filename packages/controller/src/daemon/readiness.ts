/**
 * Readiness means serving what ECS says (DESIGN.md "Outside interfaces"): `/readyz` turns 200
 * only once NGINX serves the config rendered from a state that holds this process's first full
 * sync. Not when the sync is merely done, and not when a last known good config serves: the
 * reconciler may still hold the sync's render back (debounce, reload spacing, an apply in flight)
 * or have refused it (a failed `nginx -t`), while NGINX still routes to tasks long stopped.
 */
import { firstValueFrom, type Observable, race, timer } from 'rxjs';

/** The part of the runtime readiness watches. */
export interface ServingRuntime<S> {
  /** Resolves once the reconciler takes changes (or on stop). */
  readonly reconciling: Promise<void>;
  readonly applied$: Observable<unknown>;
  flush(): Promise<void>;
  serves(state: S): boolean;
}

/**
 * Resolves `true` once the config NGINX serves is the render of the current state, read after the
 * first full sync reached the store (call it after that); `false` when `stopping()` says so first.
 * Each round pushes what is pending (`flush`), then waits for the next apply or `pollMs`.
 */
export async function untilServing<S>(
  runtime: ServingRuntime<S>,
  state: () => S,
  stopping: () => boolean,
  pollMs = 200,
): Promise<boolean> {
  await runtime.reconciling;
  while (!stopping()) {
    await runtime.flush();
    if (stopping()) return false;
    if (runtime.serves(state())) return true;
    await firstValueFrom(race(runtime.applied$, timer(pollMs)), { defaultValue: undefined });
  }
  return false;
}
