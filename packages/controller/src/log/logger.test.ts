import { forwardNginxLine, parseNginxLogLine } from '@ecs-ingress/nginx-runner';
import { EcsIngressError } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
import { errorFields } from './error-fields.js';
import {
  createLogger,
  isLogLevel,
  LOG_LEVEL_ENV,
  type LogLevel,
  logLevelFromEnv,
  NGINX_LOG_ERROR_CODE,
  UNCLASSIFIED_ERROR_CODE,
} from './logger.js';

/** A logger writing into an array, one parsed JSON object per line (so the line format is checked too). */
function capture(level: LogLevel = 'trace') {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const logger = createLogger({
    level,
    stream: {
      write(chunk: string) {
        raw.push(chunk);
        lines.push(JSON.parse(chunk) as Record<string, unknown>);
      },
    },
  });
  return { logger, lines, raw };
}

describe('createLogger', () => {
  it('writes one JSON object per line with level label, ISO time, app and message', () => {
    const { logger, lines, raw } = capture();
    logger.info({ hash: 'abc' }, 'config applied');
    expect(raw).toHaveLength(1);
    expect(raw[0]?.endsWith('\n')).toBe(true);
    expect(raw[0]?.trimEnd().includes('\n')).toBe(false);
    expect(lines[0]).toMatchObject({ level: 'info', app: 'ecs-ingress', hash: 'abc', msg: 'config applied' });
    expect(new Date(lines[0]?.time as string).toISOString()).toBe(lines[0]?.time);
  });

  it.each([
    ['warn', ['warn', 'error', 'fatal']],
    ['error', ['error', 'fatal']],
    ['debug', ['debug', 'info', 'warn', 'error', 'fatal']],
    ['silent', []],
  ] as const)('level %s drops the lines below it', (level, expected) => {
    const { logger, lines } = capture(level);
    for (const l of ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const) logger[l](`a ${l} line`);
    expect(lines.map((line) => line.level)).toEqual(expected);
  });

  it.each<[string, (log: ReturnType<typeof capture>['logger']) => void, string]>([
    ['an explicit code', (log) => log.error({ code: 'ECS_INGRESS_X' }, 'm'), 'ECS_INGRESS_X'],
    [
      'the code of `err`',
      (log) => log.error({ err: new EcsIngressError('ECS_INGRESS_Y', 'boom') }, 'm'),
      'ECS_INGRESS_Y',
    ],
    [
      'an Error as first argument',
      (log) => log.error(new EcsIngressError('ECS_INGRESS_Z', 'boom') as never, 'm'),
      'ECS_INGRESS_Z',
    ],
    ['a bare message', (log) => log.error('something broke'), UNCLASSIFIED_ERROR_CODE],
    ['fields without code', (log) => log.fatal({ stage: 'x' }, 'm'), UNCLASSIFIED_ERROR_CODE],
    ['an err without code', (log) => log.error({ err: new Error('plain') }, 'm'), UNCLASSIFIED_ERROR_CODE],
    [
      'a Node system error',
      (log) => log.error({ err: Object.assign(new Error('x'), { code: 'ENOENT' }) }, 'm'),
      'ENOENT',
    ],
  ])('every error line carries code: %s', (_label, write, code) => {
    const { logger, lines } = capture();
    write(logger);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.code).toBe(code);
  });

  it('keeps the serialized error when it adds the code', () => {
    const { logger, lines } = capture();
    logger.error({ err: new EcsIngressError('ECS_INGRESS_Y', 'boom'), stage: 'test' }, 'apply failed');
    expect(lines[0]).toMatchObject({ code: 'ECS_INGRESS_Y', stage: 'test', msg: 'apply failed' });
    expect(lines[0]?.err).toMatchObject({ message: 'boom', type: 'EcsIngressError', code: 'ECS_INGRESS_Y' });
    expect(typeof (lines[0]?.err as { stack?: unknown } | undefined)?.stack).toBe('string');
  });

  it('logs an err below error level without its stack, cause and code kept (retry lines)', () => {
    const { logger, lines } = capture();
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    logger.warn(
      { err: new EcsIngressError('ECS_INGRESS_X', 'sync failed', { cause }), attempt: 3 },
      'retrying',
    );
    logger.info(new Error('plain') as never, 'an Error first');
    expect(lines[0]).toMatchObject({
      attempt: 3,
      error: { code: 'ECS_INGRESS_X', message: 'sync failed', cause: { code: 'ECONNREFUSED' } },
    });
    expect(lines[0]).not.toHaveProperty('code');
    expect(lines[0]).not.toHaveProperty('err');
    expect(JSON.stringify(lines)).not.toContain('stack');
    expect(lines[1]?.error).toMatchObject({ message: 'plain' });
  });

  it('writes one component key: the innermost child’s, other bindings kept (record logs)', () => {
    const raw: string[] = [];
    const logger = createLogger({ level: 'debug', stream: { write: (line: string) => raw.push(line) } });
    const nested = logger.child({ component: 'recorder', run: 7 }).child({ component: 'ecs-poller' });
    nested.debug({ calls: 2 }, 'listed');
    logger.child({ component: 'recorder' }).child({ page: 1 }).info('plain child');
    expect(raw[0]?.match(/"component"/g)).toHaveLength(1);
    expect(JSON.parse(raw[0] ?? '{}')).toMatchObject({
      component: 'ecs-poller',
      run: 7,
      calls: 2,
      level: 'debug',
    });
    expect(JSON.parse(raw[1] ?? '{}')).toMatchObject({ component: 'recorder', page: 1 });
  });

  it('leaves lines below error untouched (no code invented)', () => {
    const { logger, lines } = capture();
    logger.warn({ reason: 'x' }, 'a warning');
    expect(lines[0]).not.toHaveProperty('code');
  });

  it('forwards NGINX lines through the runner with component nginx and nginx’s level', () => {
    const { logger, lines } = capture();
    const nginx = logger.child({ component: 'nginx' });
    forwardNginxLine(
      nginx,
      parseNginxLogLine(
        '2024/05/01 10:00:00 [emerg] 1234#1234: unknown directive "bogus" in /etc/nginx/x.conf:3',
      ),
    );
    forwardNginxLine(
      nginx,
      parseNginxLogLine('2024/05/01 10:00:01 [notice] 1234#1234: signal process started'),
    );
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: 'error',
      component: 'nginx',
      nginxLevel: 'emerg',
      code: NGINX_LOG_ERROR_CODE,
      app: 'ecs-ingress',
    });
    expect(String(lines[0]?.msg)).toContain('unknown directive "bogus"');
    expect(lines[1]).toMatchObject({ level: 'info', component: 'nginx', nginxLevel: 'notice' });
    expect(lines[1]).not.toHaveProperty('code');
  });
});

describe('logLevelFromEnv', () => {
  it.each([
    [undefined, 'info'],
    ['', 'info'],
    ['debug', 'debug'],
    [' WARN ', 'warn'],
    ['silent', 'silent'],
  ])('%j → %s', (value, level) => {
    expect(logLevelFromEnv({ [LOG_LEVEL_ENV]: value })).toBe(level);
  });

  it('rejects an unknown level with a ConfigError naming the variable', () => {
    expect(() => logLevelFromEnv({ [LOG_LEVEL_ENV]: 'verbose' })).toThrow(
      expect.objectContaining({ code: 'ECS_INGRESS_CONFIG_INVALID', variable: LOG_LEVEL_ENV }),
    );
  });

  it.each([
    ['info', true],
    ['fatal', true],
    ['verbose', false],
    ['INFO', false],
  ])('isLogLevel(%s) = %s', (value, ok) => {
    expect(isLogLevel(value)).toBe(ok);
  });
});

describe('errorFields', () => {
  it('extracts code, message, name and the cause chain', () => {
    const root = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    const err = new EcsIngressError('ECS_INGRESS_CONFIG_WRITE_FAILED', 'write failed', { cause: root });
    expect(errorFields(err)).toEqual({
      code: 'ECS_INGRESS_CONFIG_WRITE_FAILED',
      message: 'write failed',
      name: 'EcsIngressError',
      cause: { code: 'EACCES', message: 'EACCES: permission denied' },
    });
  });

  it.each<[string, unknown, object]>([
    ['a string', 'oops', { code: UNCLASSIFIED_ERROR_CODE, message: 'oops' }],
    ['a plain Error', new Error('x'), { code: UNCLASSIFIED_ERROR_CODE, message: 'x' }],
    ['an object with message', { message: 'm', code: 42 }, { code: '42', message: 'm' }],
    ['null', null, { code: UNCLASSIFIED_ERROR_CODE, message: 'null' }],
    ['a TypeError', new TypeError('t'), { code: UNCLASSIFIED_ERROR_CODE, message: 't', name: 'TypeError' }],
  ])('%s', (_label, value, expected) => {
    expect(errorFields(value)).toEqual(expected);
  });

  it('stays bounded on a cyclic or very deep cause chain', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(errorFields(a)).toEqual({
      code: UNCLASSIFIED_ERROR_CODE,
      message: 'a',
      cause: { code: UNCLASSIFIED_ERROR_CODE, message: 'b' },
    });

    let deep: Error = new Error('0');
    for (let i = 1; i < 20; i += 1) deep = new Error(String(i), { cause: deep });
    let depth = 0;
    for (let f: { cause?: unknown } | undefined = errorFields(deep); f !== undefined; f = f.cause as typeof f)
      depth += 1;
    expect(depth).toBe(5);
  });
});
