/**
 * Reaps the queues and rules of daemons that died without tearing down (instance terminated, task
 * killed with SIGKILL): everything under our prefix, tagged with our cluster, whose heartbeat tag is
 * older than `maxAgeMs`. Never the caller's own, never another cluster's, never an untagged one.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { ListQueuesCommand, ListQueueTagsCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type Logger, silentLogger } from '@ecs-ingress/types';
import { clusterNameOf } from '../../cluster-name.js';
import {
  deleteQueueByUrl,
  deleteRuleAndTargets,
  isQueueMissing,
  isRuleMissing,
  queueNameOfUrl,
} from './aws-steps.js';
import { DEFAULT_PREFIX, instanceResourceName, TAG_CLUSTER, TAG_HEARTBEAT, TAG_INSTANCE } from './names.js';
import type { ProvisioningAction, ProvisioningClients } from './types.js';

export interface ReapStaleOptions extends ProvisioningClients {
  /** Only resources tagged with this cluster ARN are candidates. */
  readonly clusterArn: string;
  /** Heartbeats older than this are stale. Pick several heartbeat intervals. */
  readonly maxAgeMs: number;
  readonly prefix?: string;
  /** The caller's own instance: its queue and rule are never reaped, whatever their heartbeat. */
  readonly ownInstanceId?: string;
  readonly now?: () => number;
}

type Verdict = { stale: true; heartbeat: string } | { stale: false; why: string };

/** ListRules returns at most 100 rules a page. ListQueues at most 1000 URLs a page. */
const RULES_PAGE = 100;
const QUEUES_PAGE = 1000;

export async function reapStale(options: ReapStaleOptions): Promise<ProvisioningAction[]> {
  const logger = (options.logger ?? silentLogger).child({ component: 'reaper' });
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const now = (options.now ?? Date.now)();
  const ownName =
    options.ownInstanceId === undefined
      ? undefined
      : instanceResourceName(prefix, clusterNameOf(options.clusterArn), options.ownInstanceId);
  const judge = (name: string, tags: Record<string, string>): Verdict => {
    if (tags[TAG_CLUSTER] !== options.clusterArn) return { stale: false, why: 'other-cluster' };
    if (
      name === ownName ||
      (options.ownInstanceId !== undefined && tags[TAG_INSTANCE] === options.ownInstanceId)
    ) {
      return { stale: false, why: 'own' };
    }
    const heartbeat = tags[TAG_HEARTBEAT];
    const at = heartbeat === undefined ? Number.NaN : Date.parse(heartbeat);
    // No readable heartbeat: not provably dead, so left alone (and logged for a human).
    if (Number.isNaN(at)) return { stale: false, why: 'no-heartbeat' };
    return now - at > options.maxAgeMs
      ? { stale: true, heartbeat: heartbeat! }
      : { stale: false, why: 'fresh' };
  };

  const actions: ProvisioningAction[] = [];
  actions.push(...(await reapRules(await options.events(), prefix, judge, logger)));
  actions.push(...(await reapQueues(options.sqs, prefix, judge, logger)));
  return actions;
}

async function reapRules(
  events: EventBridgeClient,
  prefix: string,
  judge: (name: string, tags: Record<string, string>) => Verdict,
  logger: Logger,
): Promise<ProvisioningAction[]> {
  const { ListRulesCommand, ListTagsForResourceCommand } = await import('@aws-sdk/client-eventbridge');
  const actions: ProvisioningAction[] = [];
  let token: string | undefined;
  const rules: { name: string; arn: string }[] = [];
  do {
    const page = await events.send(
      new ListRulesCommand({ NamePrefix: prefix, Limit: RULES_PAGE, NextToken: token }),
    );
    for (const r of page.Rules ?? []) if (r.Name && r.Arn) rules.push({ name: r.Name, arn: r.Arn });
    token = page.NextToken;
  } while (token);

  for (const rule of rules) {
    try {
      const listed = await events.send(new ListTagsForResourceCommand({ ResourceARN: rule.arn }));
      const tags = Object.fromEntries((listed.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
      const verdict = judge(rule.name, tags);
      if (!verdict.stale) {
        if (verdict.why === 'no-heartbeat')
          logger.warn({ rule: rule.name }, 'rule of this cluster has no heartbeat tag; left alone');
        continue;
      }
      logger.info({ rule: rule.name, heartbeat: verdict.heartbeat }, 'reaping stale rule');
      actions.push(...(await deleteRuleAndTargets(events, rule.name, rule.arn)));
    } catch (err) {
      if (isRuleMissing(err)) continue; // another reaper got there first
      logger.warn({ err, rule: rule.name }, 'could not reap rule');
      actions.push({ action: 'failed', kind: 'rule', name: rule.name, id: rule.arn, reason: describe(err) });
    }
  }
  return actions;
}

async function reapQueues(
  sqs: SQSClient,
  prefix: string,
  judge: (name: string, tags: Record<string, string>) => Verdict,
  logger: Logger,
): Promise<ProvisioningAction[]> {
  const actions: ProvisioningAction[] = [];
  const urls: string[] = [];
  let token: string | undefined;
  do {
    const page = await sqs.send(
      new ListQueuesCommand({ QueueNamePrefix: prefix, MaxResults: QUEUES_PAGE, NextToken: token }),
    );
    urls.push(...(page.QueueUrls ?? []));
    token = page.NextToken;
  } while (token);

  for (const url of urls) {
    const name = queueNameOfUrl(url);
    try {
      const tags = (await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags ?? {};
      const verdict = judge(name, tags);
      if (!verdict.stale) {
        if (verdict.why === 'no-heartbeat')
          logger.warn({ queue: name }, 'queue of this cluster has no heartbeat tag; left alone');
        continue;
      }
      logger.info({ queue: name, heartbeat: verdict.heartbeat }, 'reaping stale queue');
      actions.push(await deleteQueueByUrl(sqs, name, url));
    } catch (err) {
      if (isQueueMissing(err)) continue;
      logger.warn({ err, queue: name }, 'could not reap queue');
      actions.push({ action: 'failed', kind: 'queue', name, id: url, reason: describe(err) });
    }
  }
  return actions;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
