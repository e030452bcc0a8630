import type { Tag, Target } from '@aws-sdk/client-eventbridge';
import { type AwsFakeIdentity, eventsArn, lastSegment } from './identity.js';
import { AwsFakeError, optNumber, optString, optStrings, paginate } from './wire.js';

/** Target prefix of EventBridge's awsJson1_1 operations (`X-Amz-Target`). */
export const EVENTS_TARGET_PREFIX = 'AWSEvents.';

/** EventBridge allows at most 5 targets on a rule. */
export const MAX_TARGETS_PER_RULE = 5;
/** PutTargets / RemoveTargets take at most 10 entries per request. */
const MAX_ENTRIES_PER_REQUEST = 10;

export interface FakeRule {
  readonly name: string;
  readonly arn: string;
  readonly eventBusName: string;
  eventPattern?: string;
  scheduleExpression?: string;
  state: string;
  description?: string;
  roleArn?: string;
  /** By target `Id`, in insertion order. */
  readonly targets: Map<string, Target>;
}

const validation = (message: string) => new AwsFakeError('ValidationException', message);
const notFound = (message: string) => new AwsFakeError('ResourceNotFoundException', message);

/**
 * In-memory EventBridge on the default bus: rules, their targets, and tags by resource ARN.
 * Tests read `rules` and `tags` directly to check what the code under test provisioned.
 */
export class EventsFake {
  /** Rules by name (default bus only, the one ecs-ingress uses). */
  readonly rules = new Map<string, FakeRule>();
  /** Tags by resource ARN. */
  readonly tags = new Map<string, Map<string, string>>();

  constructor(readonly identity: AwsFakeIdentity) {}

  rule(name: string): FakeRule | undefined {
    return this.rules.get(name);
  }

  /** Tags of a resource as a plain object (empty when none). */
  tagsOf(arn: string): Record<string, string> {
    return Object.fromEntries(this.tags.get(arn) ?? []);
  }

  handle(operation: string, input: Record<string, unknown>): unknown {
    switch (operation) {
      case 'PutRule':
        return this.putRule(input);
      case 'DescribeRule':
        return this.describeRule(input);
      case 'ListRules':
        return this.listRules(input);
      case 'DeleteRule':
        return this.deleteRule(input);
      case 'PutTargets':
        return this.putTargets(input);
      case 'RemoveTargets':
        return this.removeTargets(input);
      case 'ListTargetsByRule':
        return this.listTargetsByRule(input);
      case 'TagResource':
        return this.tagResource(input);
      case 'UntagResource':
        return this.untagResource(input);
      case 'ListTagsForResource':
        return this.listTagsForResource(input);
      default:
        throw new AwsFakeError(
          'UnknownOperationException',
          `EventBridge operation ${operation} is not modelled`,
        );
    }
  }

  private checkBus(input: Record<string, unknown>): void {
    const bus = optString(input, 'EventBusName');
    if (bus !== undefined && lastSegment(bus) !== 'default') {
      throw notFound(`Event bus ${bus} does not exist.`);
    }
  }

  private existingRule(input: Record<string, unknown>, member: 'Name' | 'Rule'): FakeRule {
    this.checkBus(input);
    const name = optString(input, member);
    if (!name) throw validation(`Parameter ${member} must be specified.`);
    const rule = this.rules.get(name);
    if (!rule) throw notFound(`Rule ${name} does not exist on EventBus default.`);
    return rule;
  }

  private putRule(input: Record<string, unknown>): unknown {
    this.checkBus(input);
    const name = optString(input, 'Name');
    if (!name) throw validation('Parameter Name must be specified.');
    const eventPattern = optString(input, 'EventPattern');
    const scheduleExpression = optString(input, 'ScheduleExpression');
    if (eventPattern === undefined && scheduleExpression === undefined) {
      throw validation('Parameter(s) EventPattern or ScheduleExpression must be specified.');
    }
    if (eventPattern !== undefined) assertEventPattern(eventPattern);
    const existing = this.rules.get(name);
    const rule: FakeRule = existing ?? {
      name,
      arn: eventsArn(this.identity, `rule/${name}`),
      eventBusName: 'default',
      state: 'ENABLED',
      targets: new Map(),
    };
    setOptional(rule, 'eventPattern', eventPattern);
    setOptional(rule, 'scheduleExpression', scheduleExpression);
    setOptional(rule, 'description', optString(input, 'Description'));
    setOptional(rule, 'roleArn', optString(input, 'RoleArn'));
    rule.state = optString(input, 'State') ?? rule.state;
    if (!existing) {
      this.rules.set(name, rule);
      // Tags given to PutRule apply only when the rule is created; updates leave them alone.
      this.applyTags(rule.arn, (input.Tags as Tag[] | undefined) ?? []);
    }
    return { RuleArn: rule.arn };
  }

  private describeRule(input: Record<string, unknown>): unknown {
    const rule = this.existingRule(input, 'Name');
    return { ...ruleWire(rule), CreatedBy: this.identity.accountId };
  }

  private listRules(input: Record<string, unknown>): unknown {
    this.checkBus(input);
    const prefix = optString(input, 'NamePrefix') ?? '';
    const all = [...this.rules.values()]
      .filter((r) => r.name.startsWith(prefix))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map(ruleWire);
    const page = paginate(all, this.limit(input), optString(input, 'NextToken'), validation);
    return { Rules: page.items, NextToken: page.nextToken };
  }

  private deleteRule(input: Record<string, unknown>): unknown {
    this.checkBus(input);
    const name = optString(input, 'Name');
    if (!name) throw validation('Parameter Name must be specified.');
    const rule = this.rules.get(name);
    // Deleting a rule that does not exist succeeds, so teardown can be repeated.
    if (!rule) return {};
    if (rule.targets.size > 0) throw validation("Rule can't be deleted since it has targets.");
    this.rules.delete(name);
    this.tags.delete(rule.arn);
    return {};
  }

  private putTargets(input: Record<string, unknown>): unknown {
    const rule = this.existingRule(input, 'Rule');
    const targets = (input.Targets as Target[] | undefined) ?? [];
    if (targets.length === 0 || targets.length > MAX_ENTRIES_PER_REQUEST) {
      throw validation(
        `1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length between 1 and ${MAX_ENTRIES_PER_REQUEST}`,
      );
    }
    for (const t of targets) {
      if (!t.Id || !t.Arn) throw validation('Target Id and Arn must be specified.');
    }
    const ids = new Set([...rule.targets.keys(), ...targets.map((t) => t.Id!)]);
    // Real EventBridge refuses the whole request (and the SDK retries it: it classes this code as throttling).
    if (ids.size > MAX_TARGETS_PER_RULE) {
      throw new AwsFakeError(
        'LimitExceededException',
        'The requested resource exceeds the maximum number allowed.',
      );
    }
    for (const t of targets) rule.targets.set(t.Id!, t);
    return { FailedEntryCount: 0, FailedEntries: [] };
  }

  private removeTargets(input: Record<string, unknown>): unknown {
    const rule = this.existingRule(input, 'Rule');
    const ids = optStrings(input, 'Ids') ?? [];
    if (ids.length === 0 || ids.length > MAX_ENTRIES_PER_REQUEST) {
      throw validation(
        `1 validation error detected: Value at 'ids' failed to satisfy constraint: Member must have length between 1 and ${MAX_ENTRIES_PER_REQUEST}`,
      );
    }
    for (const id of ids) rule.targets.delete(id);
    return { FailedEntryCount: 0, FailedEntries: [] };
  }

  private listTargetsByRule(input: Record<string, unknown>): unknown {
    const rule = this.existingRule(input, 'Rule');
    const page = paginate(
      [...rule.targets.values()],
      this.limit(input),
      optString(input, 'NextToken'),
      validation,
    );
    return { Targets: page.items, NextToken: page.nextToken };
  }

  private resourceArn(input: Record<string, unknown>): string {
    const arn = optString(input, 'ResourceARN');
    if (!arn) throw validation('Parameter ResourceARN must be specified.');
    if (![...this.rules.values()].some((r) => r.arn === arn))
      throw notFound(`Rule ${lastSegment(arn)} does not exist.`);
    return arn;
  }

  private tagResource(input: Record<string, unknown>): unknown {
    this.applyTags(this.resourceArn(input), (input.Tags as Tag[] | undefined) ?? []);
    return {};
  }

  private untagResource(input: Record<string, unknown>): unknown {
    const tags = this.tags.get(this.resourceArn(input));
    for (const key of optStrings(input, 'TagKeys') ?? []) tags?.delete(key);
    return {};
  }

  private listTagsForResource(input: Record<string, unknown>): unknown {
    const arn = this.resourceArn(input);
    return { Tags: [...(this.tags.get(arn) ?? [])].map(([Key, Value]) => ({ Key, Value })) };
  }

  private applyTags(arn: string, tags: Tag[]): void {
    if (tags.length === 0) return;
    const map = this.tags.get(arn) ?? new Map<string, string>();
    for (const t of tags) if (t.Key !== undefined) map.set(t.Key, t.Value ?? '');
    this.tags.set(arn, map);
  }

  /** EventBridge list operations take `Limit` 1..100. */
  private limit(input: Record<string, unknown>): number {
    const limit = optNumber(input, 'Limit');
    if (limit === undefined) return 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      throw validation(
        "1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must have value between 1 and 100",
      );
    }
    return limit;
  }
}

function assertEventPattern(pattern: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(pattern);
  } catch {
    throw new AwsFakeError('InvalidEventPatternException', 'Event pattern is not valid. Reason: not JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new AwsFakeError(
      'InvalidEventPatternException',
      'Event pattern is not valid. Reason: not a JSON object',
    );
  }
}

function setOptional<K extends 'eventPattern' | 'scheduleExpression' | 'description' | 'roleArn'>(
  rule: FakeRule,
  key: K,
  value: string | undefined,
): void {
  if (value !== undefined) rule[key] = value;
}

function ruleWire(rule: FakeRule): Record<string, unknown> {
  return {
    Name: rule.name,
    Arn: rule.arn,
    EventPattern: rule.eventPattern,
    ScheduleExpression: rule.scheduleExpression,
    State: rule.state,
    Description: rule.description,
    RoleArn: rule.roleArn,
    EventBusName: rule.eventBusName,
  };
}
