// Test support for the workspace's tests: builders of ECS-shaped domain values and events, and a
// seeded random generator. Private: production code never imports this package.

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
  servicesEvent,
  snapshotEvent,
  T0,
  taskArn,
  taskDefinitionArn,
  taskDefinitionEvent,
  taskEvent,
} from './builders.js';
export { xorshift } from './xorshift.js';
