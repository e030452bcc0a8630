// The AWS wire fake (ECS, EC2, EventBridge, S3 with conditional writes) and the fauxqs harness (SQS, S3).
export type { FakeInstance } from '../aws-fake/ec2-fake.js';
export { Ec2Fake } from '../aws-fake/ec2-fake.js';
export type { PutContainerInstanceOptions, PutServiceOptions } from '../aws-fake/ecs-fake.js';
export { EcsFake } from '../aws-fake/ecs-fake.js';
export type { FakeRule } from '../aws-fake/events-fake.js';
export { EventsFake, MAX_TARGETS_PER_RULE } from '../aws-fake/events-fake.js';
export type { AwsFakeService, FaultKind, FaultSpec, InjectedFault } from '../aws-fake/faults.js';
export type { AwsFakeIdentity } from '../aws-fake/identity.js';
export { DEFAULT_IDENTITY } from '../aws-fake/identity.js';
export type { S3Fake, S3FakeOutage } from '../aws-fake/s3-fake.js';
export { startS3Fake } from '../aws-fake/s3-fake.js';
export type { AwsFake, AwsFakeClientConfig, AwsFakeOptions, RecordedCall } from '../aws-fake/server.js';
export { startAwsFake } from '../aws-fake/server.js';
export type {
  AwsvpcTaskOptions,
  BridgeTaskOptions,
  FakeContainerSpec,
  FakeTaskDefinitionOptions,
  FakeTaskOptions,
  HostTaskOptions,
} from '../aws-fake/task-builders.js';
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
} from '../aws-fake/task-builders.js';
export { AwsFakeError } from '../aws-fake/wire.js';
export type { FauxqsClientConfig, FauxqsHarness } from '../fauxqs.js';
export { startFauxqsServer } from '../fauxqs.js';
