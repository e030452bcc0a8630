import { describe, expect, it } from 'vitest';
import { balancerTimes, judgeDecisions } from './churn.js';

const A = '127.0.0.2:4001';
const B = '127.0.0.3:4002';
const C = '127.0.0.4:4003';
// v1: web = A,B; v2: api changes only (web keeps A,B); v3: web = B,C.
const versions = [
  { version: 1, endpoints: { web: [A, B], api: [A] } },
  { version: 2, endpoints: { api: [C] } },
  { version: 3, endpoints: { web: [B, C] } },
];

describe('judgeDecisions', () => {
  it.each([
    { name: 'peers of the version used', log: `${A}@1/1\n${B}@2/2\n${C}@3/3\n`, decisions: 3, wrong: [] },
    {
      name: 'a version that did not list the service keeps the earlier list',
      log: `${A}@2/2`,
      decisions: 1,
      wrong: [],
    },
    { name: 'a list read just after a push landed (used > live)', log: `${C}@2/3`, decisions: 1, wrong: [] },
    { name: 'a removed peer in the list used', log: `${A}@3/3`, decisions: 1, wrong: [`${A}@3/3`] },
    {
      name: 'a stale cached list picks a peer the live set removed',
      log: `${A}@3/1`,
      decisions: 1,
      wrong: [`${A}@3/1`],
    },
    { name: 'an old list, but the peer is still live', log: `${B}@3/1`, decisions: 1, wrong: [] },
    {
      name: 'a version beyond the last push keeps its list',
      log: `${A}@7/7`,
      decisions: 1,
      wrong: [`${A}@7/7`],
    },
    {
      name: 'a retry on the old list after the push',
      log: `${B}@1/1,${A}@3/1`,
      decisions: 2,
      wrong: [`${A}@3/1`],
    },
    { name: 'a peer never pushed', log: `${C}@1/1`, decisions: 1, wrong: [`${C}@1/1`] },
    { name: 'a version before any push', log: `${A}@0/0`, decisions: 1, wrong: [`${A}@0/0`] },
    { name: 'no version part', log: `${A}@1`, decisions: 1, wrong: [`${A}@1`] },
    { name: 'garbage is wrong, not skipped', log: 'nonsense', decisions: 1, wrong: ['nonsense'] },
    { name: 'requests without a decision are skipped', log: '-\n\n-\n', decisions: 0, wrong: [] },
    {
      name: 'balancer times after the space are ignored',
      log: `${A}@1/1 5000\n${B}@1/1,${A}@3/1 6000,6001\n- -`,
      decisions: 3,
      wrong: [`${A}@3/1`],
    },
  ])('$name', ({ log, decisions, wrong }) => {
    expect(judgeDecisions(log, versions, 'web')).toEqual({ decisions, wrong });
  });
});

describe('balancerTimes', () => {
  it.each([
    {
      name: 'one time per try, per peer, sorted, µs to ms',
      log: `${B}@1/1 9000\n${A}@1/1,${B}@1/1 7000,7500\n`,
      expected: { [A]: [7], [B]: [7.5, 9] },
    },
    { name: 'lines without a decision or a time', log: '- -\n-\n\n', expected: {} },
    { name: 'a line whose counts differ is skipped', log: `${A}@1/1,${B}@1/1 7000`, expected: {} },
    { name: 'a time that is not a number is skipped', log: `${A}@1/1 x`, expected: {} },
  ])('$name', ({ log, expected }) => {
    expect(Object.fromEntries(balancerTimes(log))).toEqual(expected);
  });
});
