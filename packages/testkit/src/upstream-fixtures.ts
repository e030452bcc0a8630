import type { Endpoint, Logger, Upstream } from '@ecs-ingress/types';

/** An endpoint; the task ARN is derived from the address so fixtures stay short. */
export function ep(
  address: string,
  port: number,
  taskArn = `arn:aws:ecs:eu-west-1:123456789012:task/c/${address}-${port}`,
): Endpoint {
  return { address, port, taskArn };
}

export function up(name: string, ...servers: Endpoint[]): Upstream {
  return { name, servers };
}

/** The render cases shared by the golden test and the `nginx -t` integration test. */
export const renderCases: readonly { readonly file: string; readonly upstreams: readonly Upstream[] }[] = [
  { file: 'empty', upstreams: [] },
  { file: 'one-service-no-tasks', upstreams: [up('web')] },
  {
    file: 'several-services-unsorted',
    upstreams: [
      up(
        'web',
        ep('10.0.1.10', 8080),
        ep('10.0.1.9', 8080),
        ep('9.255.0.1', 80),
        ep('10.0.1.9', 31000),
        ep('10.0.1.9', 443),
      ),
      up('api', ep('172.31.5.20', 32768)),
      up('Zeta', ep('192.168.0.2', 80)),
      up('batch-jobs'),
      up('admin_2', ep('10.0.0.1', 8080)),
    ],
  },
  {
    file: 'duplicate-servers',
    upstreams: [
      up('web', ep('10.0.0.5', 80, 'task-a'), ep('10.0.0.5', 80, 'task-b'), ep('10.0.0.6', 80)),
      // The same service name again (e.g. a second replayed cluster): one upstream, servers merged.
      up('web', ep('10.0.0.6', 80), ep('10.0.0.4', 80)),
    ],
  },
  {
    file: 'unsafe-names',
    upstreams: [
      up('a b', ep('10.0.0.1', 80)),
      up('x;}', ep('10.0.0.1', 80)),
      up('$foo', ep('10.0.0.1', 80)),
      up('evil{', ep('10.0.0.1', 80)),
      up('a"b'),
      up("a'b"),
      up('a#b'),
      up('line\nbreak'),
      up('a/b'),
      up('a:80'),
      up(''),
      up('-leading'),
      up('.leading'),
      up('x'.repeat(256)),
      up('ok', ep('10.0.0.2', 80)),
    ],
  },
  {
    file: 'dots-and-underscores',
    upstreams: [
      up('api.v2', ep('10.0.0.1', 80)),
      up('svc_internal', ep('10.0.0.2', 80)),
      up('my-service-1'),
      up('0numeric', ep('10.0.0.3', 8443)),
      up('x'.repeat(255), ep('10.0.0.4', 80)),
    ],
  },
  {
    file: 'invalid-servers',
    upstreams: [
      up(
        'web',
        ep('10.0.0.256', 80),
        ep('1.2.3', 80),
        ep('010.0.0.1', 80),
        ep('10.0.0.1; include /etc/passwd', 80),
        ep('::1', 80),
        ep('', 80),
        ep('10.0.0.1', 0),
        ep('10.0.0.1', 65536),
        ep('10.0.0.1', 8080.5),
        ep('10.0.0.1', Number.NaN),
        ep('10.0.0.1', -1),
        ep('10.0.0.7', 65535),
        ep('10.0.0.7', 1),
      ),
      up('all-invalid', ep('300.1.1.1', 80)),
    ],
  },
  { file: 'case-collision', upstreams: [up('web', ep('10.0.0.2', 80)), up('Web', ep('10.0.0.1', 80))] },
];

/** A logger that records every call, to assert what was logged. */
export function recordingLogger(): Logger & { lines: { level: string; args: unknown[] }[] } {
  const lines: { level: string; args: unknown[] }[] = [];
  const at =
    (level: string) =>
    (...args: unknown[]): void => {
      lines.push({ level, args });
    };
  const logger = {
    lines,
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    child: () => logger,
  };
  return logger;
}
