import { xorshift } from '@ecs-ingress/testkit';
import type { RouteTable } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
import { renderRouteTable, svc } from '../test-support/routes.js';
import { resolveRoutes, type ServiceRoutesInput } from './resolve-routes.js';
import { createRouteResolver } from './route-resolver.js';
import type { RouteSettings } from './route-settings.js';

/** Random labels over few hosts, so routes collide, span several hosts and chain hosts together. */
function randomLabels(random: () => number): Record<string, string> {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const hosts = () => {
    const count = 1 + Math.floor(random() * 3);
    return [
      ...new Set(Array.from({ length: count }, () => `${pick('abcdefghij'.split(''))}.example.com`)),
    ].join(' ');
  };
  const labels: Record<string, string> = {};
  const roll = random();
  if (roll < 0.05) return { port: '8080' }; // not exposed
  if (roll < 0.1) labels['http.x.hosts'] = 'bad;'; // invalid
  if (random() < 0.1) labels['tcp.listen'] = pick(['5432', '5433', '6000']);
  if (random() < 0.9 || Object.keys(labels).length === 0) {
    if (random() < 0.85) labels['http.hosts'] = hosts();
    labels['http.path'] = pick(['/', '/x', '/x/', '/y', '/x/y']);
    labels['http.match'] = pick(['exact', 'prefix']);
    if (random() < 0.2) labels['http.canary-weight'] = String(1 + Math.floor(random() * 99));
    if (random() < 0.2) labels['http.tls'] = pick(['bundle:one', 'bundle:two']);
    if (random() < 0.1) labels['http.strip-prefix'] = 'true';
  }
  if (random() < 0.3) {
    labels['http.api.hosts'] = hosts();
    labels['http.api.path'] = pick(['/api', '/x', '/']);
  }
  return labels;
}

describe('createRouteResolver: the same table as resolveRoutes from scratch, after any change', () => {
  it('random sequences of label changes, new and removed services, seniority changes (seeded)', () => {
    const random = xorshift(1616);
    const settingsA: RouteSettings = {
      tcpPorts: [{ from: 5432, to: 5433 }],
      defaultDomain: 'apps.example.com',
    };
    const settingsB: RouteSettings = { ...settingsA, bundleServerNames: new Set(['c.example.com']) };
    let settings = settingsA;
    // Ages 0..4, or unknown (DescribeServices not answered yet: the youngest).
    const age = () => {
      const n = Math.floor(random() * 6);
      return n === 5 ? undefined : n;
    };
    let services = Array.from({ length: 40 }, (_, i) => svc(`s${i}`, age(), randomLabels(random)));
    let serial = services.length;
    const resolve = createRouteResolver();
    let checked = 0;
    for (let step = 0; step < 400; step += 1) {
      const roll = random();
      const i = Math.floor(random() * services.length);
      const current = services[i] as ServiceRoutesInput;
      if (roll < 0.6) services[i] = svc(current.name, current.createdAt, randomLabels(random));
      else if (roll < 0.7) services.push(svc(`s${serial++}`, age(), randomLabels(random)));
      else if (roll < 0.8 && services.length > 5) services = services.filter((_, k) => k !== i);
      else if (roll < 0.85) services[i] = { ...current, createdAt: age() };
      else if (roll < 0.9) settings = settings === settingsA ? settingsB : settingsA;
      else services = [...services].reverse(); // the input order never matters
      const incremental = resolve(services, settings);
      const scratch = resolveRoutes(services, settings);
      expect(JSON.stringify(incremental)).toBe(JSON.stringify(scratch));
      expect(renderRouteTable(incremental)).toBe(renderRouteTable(scratch));
      checked += 1;
    }
    expect(checked).toBe(400);
  });

  it('a change keeps the host objects of the hosts it cannot reach (the renderer reuses their text)', () => {
    const resolve = createRouteResolver();
    const settings: RouteSettings = { tcpPorts: [] };
    const before = [
      svc('a', 1, { 'http.hosts': 'a.example.com' }),
      svc('b', 2, { 'http.hosts': 'b.example.com shared.example.com', 'http.path': '/b' }),
      svc('c', 3, { 'http.hosts': 'shared.example.com', 'http.path': '/c' }),
    ];
    const first = resolve(before, settings);
    const after = [
      before[0]!,
      before[1]!,
      svc('c', 3, { 'http.hosts': 'shared.example.com', 'http.path': '/d' }),
    ];
    const second = resolve(after, settings);
    const host = (table: RouteTable, name: string) => table.hosts.find((h) => h.host === name);
    expect(host(second, 'a.example.com')).toBe(host(first, 'a.example.com'));
    // b.example.com is linked to shared.example.com by b's route: resolved again, and equal.
    expect(host(second, 'b.example.com')).toEqual(host(first, 'b.example.com'));
    expect(host(second, 'shared.example.com')).not.toBe(host(first, 'shared.example.com'));
    expect(JSON.stringify(second)).toBe(JSON.stringify(resolveRoutes(after, settings)));
    // Nothing changed: the very same table.
    expect(resolve(after, settings)).toBe(second);
  });

  it('one service name twice (two clusters) resolves from scratch, like resolveRoutes', () => {
    const resolve = createRouteResolver();
    const settings: RouteSettings = { tcpPorts: [] };
    const twice = [
      svc('web', 1, { 'http.hosts': 'a.example.com' }),
      svc('web', 1, { 'http.hosts': 'a.example.com', 'http.path': '/x' }),
    ];
    expect(JSON.stringify(resolve(twice, settings))).toBe(JSON.stringify(resolveRoutes(twice, settings)));
    const once = [twice[0]!];
    expect(JSON.stringify(resolve(once, settings))).toBe(JSON.stringify(resolveRoutes(once, settings)));
  });
});
