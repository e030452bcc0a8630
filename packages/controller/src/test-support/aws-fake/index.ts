export type { FakeInstance } from './ec2-fake.js';
export { Ec2Fake } from './ec2-fake.js';
export type { PutContainerInstanceOptions, PutServiceOptions } from './ecs-fake.js';
export { EcsFake } from './ecs-fake.js';
export type { FakeRule } from './events-fake.js';
export { EventsFake, MAX_TARGETS_PER_RULE } from './events-fake.js';
export type { AwsFakeService, FaultKind, FaultSpec, InjectedFault } from './faults.js';
export type { AwsFakeIdentity } from './identity.js';
export { DEFAULT_IDENTITY } from './identity.js';
export type { S3Fake, S3FakeOutage } from './s3-fake.js';
export { startS3Fake } from './s3-fake.js';
export type { AwsFake, AwsFakeClientConfig, AwsFakeOptions, RecordedCall } from './server.js';
export { startAwsFake } from './server.js';
export type {
  AwsvpcTaskOptions,
  BridgeTaskOptions,
  FakeContainerSpec,
  FakeTaskDefinitionOptions,
  FakeTaskOptions,
  HostTaskOptions,
} from './task-builders.js';
export {
  buildAwsvpcTask,
  buildBridgeTask,
  buildHostTask,
  buildTaskDefinition,
  containerInstanceArnFor,
  ecsId,
  newTaskId,
  taskArnFor,
  taskDefinitionArnFor,
} from './task-builders.js';
export { AwsFakeError } from './wire.js';
