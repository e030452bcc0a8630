/** Bounded polling: no test waits forever, none sleeps a fixed time hoping a condition holds. */
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `check` until it returns true, at most `attempts` × `intervalMs`; a check that throws
 * counts as not yet (connection refused while NGINX restarts). Resolves false when it never held.
 */
export async function pollUntil(
  check: () => boolean | Promise<boolean>,
  attempts = 250,
  intervalMs = 20,
): Promise<boolean> {
  for (let i = 0; i < attempts; i += 1) {
    try {
      if (await check()) return true;
    } catch {
      // Not ready yet.
    }
    await sleep(intervalMs);
  }
  return false;
}

/**
 * Polls `probe` every `intervalMs` until it returns a value other than `undefined`, at most
 * `rounds` times; throws with `what` when it never does. (Bounded: no test waits forever.)
 */
export async function eventually<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  options: { rounds?: number; intervalMs?: number } = {},
): Promise<T> {
  const rounds = options.rounds ?? 200;
  const intervalMs = options.intervalMs ?? 50;
  let lastError: unknown;
  for (let i = 0; i < rounds; i++) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}
