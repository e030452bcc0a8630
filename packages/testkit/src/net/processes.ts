/** /proc lookups for tests that watch processes (NGINX masters and workers). */
import { readdirSync, readFileSync } from 'node:fs';

/** Whether `pid` is a live process (a zombie awaiting its reaper does not count). */
export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Pids whose parent is `ppid`, ascending, from /proc. */
export function childPids(ppid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) children.push(Number(entry));
    } catch {
      // Exited while we read.
    }
  }
  return children.sort((a, b) => a - b);
}
