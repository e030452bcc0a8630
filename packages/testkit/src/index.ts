// Test support without I/O beyond reading fixtures: builders of ECS-shaped domain values and
// events, renderer fixtures, the types' JSON fixtures, injection payloads, golden files and a seeded
// random generator. NGINX, network and end-to-end helpers live behind the subpaths `./nginx`,
// `./net`, `./e2e` and `./archives`, so the pure packages' tests load none of them. Private:
// production code never imports this package.

export type { Overrides } from './builders.js';
export {
  ACCOUNT,
  aBinding,
  aBridgeTask,
  aContainer,
  aContainerDefinition,
  aContainerInstance,
  aDescribedTask,
  aPortMapping,
  aTask,
  aTaskDefinition,
  clusterArn,
  containerInstanceArn,
  containerInstanceEvent,
  DEFAULT_CLUSTER,
  ignoredEvent,
  REGION,
  serviceEvent,
  servicesEvent,
  snapshotEvent,
  T0,
  taskArn,
  taskDefinitionArn,
  taskDefinitionEvent,
  taskEvent,
} from './builders.js';
export { expectGolden } from './golden.js';
export { INJECTION_PAYLOADS } from './injection-payloads.js';
export { fixtureJson, fixtureText } from './type-fixtures.js';
export { ep, recordingLogger, renderCases, up } from './upstream-fixtures.js';
export { shuffled, xorshift, xorshiftBelow } from './xorshift.js';
