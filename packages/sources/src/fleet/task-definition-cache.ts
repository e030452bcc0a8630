/**
 * Task definitions cached fleet-wide in S3, one object per revision ARN. A revision is immutable,
 * so the first writer's copy is right forever: written with `If-None-Match: *` (a 412 means
 * another daemon wrote it first, which is fine). A daemon reads the shared copy before calling
 * DescribeTaskDefinition, so a fleet restarting together describes each revision once, not once
 * per host. Every failure here is a miss: ECS is still asked, nothing waits on S3.
 */
import { createHash } from 'node:crypto';
import type { TaskDefinition } from '@aws-sdk/client-ecs';
import { type Logger, silentLogger } from '@ecs-ingress/types';
import type { TaskDefinitionCache } from '../ecs-references.js';
import type { FleetHooks } from './fleet-hooks.js';
import type { FleetObjects } from './fleet-objects.js';

/** Object name of a revision: a digest, since ARNs carry `:` and `/` and may be long. */
export function taskDefinitionObject(arn: string): string {
  return `task-definitions/${createHash('sha256').update(arn).digest('hex').slice(0, 40)}.json`;
}

export class SharedTaskDefinitionCache implements TaskDefinitionCache {
  private readonly logger: Logger;

  constructor(
    private readonly objects: FleetObjects,
    private readonly hooks: FleetHooks = {},
    logger?: Logger,
  ) {
    this.logger = (logger ?? silentLogger).child({ component: 'fleet-task-definitions' });
  }

  async get(arn: string, signal?: AbortSignal): Promise<TaskDefinition | undefined> {
    try {
      const got = await this.objects.get(taskDefinitionObject(arn), undefined, signal);
      if (got === undefined || got === 'unchanged') {
        this.hooks.onSharedTaskDefinition?.('miss');
        return undefined;
      }
      const raw = JSON.parse(Buffer.from(got.body).toString('utf8')) as {
        arn?: unknown;
        taskDefinition?: unknown;
      };
      // The digest could in theory collide; the ARN inside settles it.
      if (raw.arn !== arn || raw.taskDefinition === null || typeof raw.taskDefinition !== 'object') {
        this.hooks.onSharedTaskDefinition?.('miss');
        return undefined;
      }
      this.hooks.onSharedTaskDefinition?.('hit');
      return raw.taskDefinition as TaskDefinition;
    } catch (err) {
      // Aborted (the daemon is stopping): no S3 problem to count; the caller's ECS call aborts too.
      if (signal?.aborted) return undefined;
      this.hooks.onSharedTaskDefinition?.('error');
      this.hooks.onS3Error?.('GetObject');
      this.logger.debug({ err, arn }, 'shared task definition unreadable; asking ECS');
      return undefined;
    }
  }

  async put(arn: string, taskDefinition: TaskDefinition, signal?: AbortSignal): Promise<void> {
    try {
      const out = await this.objects.put(
        taskDefinitionObject(arn),
        JSON.stringify({ arn, taskDefinition }),
        { ifNoneMatch: '*' },
        signal ? { signal } : {},
      );
      if (out.ok) this.hooks.onSharedTaskDefinition?.('written');
    } catch (err) {
      if (signal?.aborted) return;
      this.hooks.onSharedTaskDefinition?.('error');
      this.hooks.onS3Error?.('PutObject');
      this.logger.debug({ err, arn }, 'shared task definition not written');
    }
  }
}
