import type { Logger } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
import { failureLinesOf, forwardNginxLine, loggerLevelFor, parseNginxLogLine } from './log-lines.js';

describe('parseNginxLogLine', () => {
  it.each([
    [
      '2024/05/01 12:00:00 [emerg] 123#123: bind() to 127.0.0.1:80 failed (98: Address already in use)',
      {
        nginxLevel: 'emerg',
        pid: 123,
        message: 'bind() to 127.0.0.1:80 failed (98: Address already in use)',
      },
    ],
    [
      '2024/05/01 12:00:00 [warn] 124#124: *7 an upstream response is buffered',
      { nginxLevel: 'warn', pid: 124, message: '*7 an upstream response is buffered' },
    ],
    [
      'nginx: [emerg] unknown directive "x" in /p/n.conf:1',
      { nginxLevel: 'emerg', pid: undefined, message: 'unknown directive "x" in /p/n.conf:1' },
    ],
    ['nginx: configuration file /p/n.conf test is successful', { nginxLevel: undefined, pid: undefined }],
    [
      '127.0.0.1 - - "GET / HTTP/1.1" 200',
      { nginxLevel: undefined, message: '127.0.0.1 - - "GET / HTTP/1.1" 200' },
    ],
    ['2024/05/01 12:00:00 [bogus] 1#1: x', { nginxLevel: undefined }],
  ])('%s', (raw, expected) => {
    expect(parseNginxLogLine(raw)).toMatchObject({ raw, ...expected });
  });
});

describe('loggerLevelFor', () => {
  it.each([
    ['emerg', 'error'],
    ['alert', 'error'],
    ['crit', 'error'],
    ['error', 'error'],
    ['warn', 'warn'],
    ['notice', 'info'],
    ['info', 'info'],
    ['debug', 'debug'],
    [undefined, 'info'],
  ] as const)('%s → %s', (nginx, ours) => {
    expect(loggerLevelFor(nginx)).toBe(ours);
  });
});

describe('forwardNginxLine', () => {
  it('logs at the mapped level with the NGINX tag and pid as fields', () => {
    const calls: [string, unknown, unknown][] = [];
    const record =
      (level: string) =>
      (obj: unknown, msg?: unknown): void => {
        calls.push([level, obj, msg]);
      };
    const logger: Logger = {
      trace: record('trace'),
      debug: record('debug'),
      info: record('info'),
      warn: record('warn'),
      error: record('error'),
      fatal: record('fatal'),
      child: () => logger,
    };
    forwardNginxLine(logger, parseNginxLogLine('2024/05/01 12:00:00 [crit] 9#9: out of memory', 'stderr'));
    expect(calls).toEqual([
      ['error', { stream: 'stderr', nginxLevel: 'crit', nginxPid: 9 }, 'out of memory'],
    ]);
  });

  it.each([
    [
      '2024/05/01 12:00:00 [error] 31#31: *5 open() "/usr/share/nginx/html/favicon.ico" failed (2: No such file or directory), client: 127.0.0.1, server: _, request: "GET /favicon.ico HTTP/1.1", host: "127.0.0.1:8080"',
      'info',
    ],
    [
      '2024/05/01 12:00:00 [error] 31#31: *6 open() "/srv/a.txt/b" failed (20: Not a directory), client: 127.0.0.1, server: _, request: "GET /a.txt/b HTTP/1.1"',
      'info',
    ],
    // Not a client's 404: NGINX cannot open a file it needs itself.
    [
      '2024/05/01 12:00:00 [error] 31#31: open() "/app/nginx/upstreams.conf" failed (2: No such file or directory)',
      'error',
    ],
    [
      '2024/05/01 12:00:00 [error] 31#31: *7 open() "/srv/x" failed (13: Permission denied), client: 127.0.0.1, server: _, request: "GET /x HTTP/1.1"',
      'error',
    ],
  ])('a client 404 goes at info, other errors at error: %s', (raw, level) => {
    const calls: string[] = [];
    const record = (name: string) => (): void => {
      calls.push(name);
    };
    const logger: Logger = {
      trace: record('trace'),
      debug: record('debug'),
      info: record('info'),
      warn: record('warn'),
      error: record('error'),
      fatal: record('fatal'),
      child: () => logger,
    };
    forwardNginxLine(logger, parseNginxLogLine(raw));
    expect(calls).toEqual([level]);
  });
});

describe('failureLinesOf', () => {
  it('keeps emerg, alert and crit lines verbatim', () => {
    const output = [
      'nginx: [warn] low address space',
      'nginx: [emerg] host not found in upstream "x"',
      '2024/05/01 12:00:00 [alert] 1#1: could not open error log',
      'nginx: configuration file /p/n.conf test failed',
      '',
    ].join('\n');
    expect(failureLinesOf(output)).toEqual([
      'nginx: [emerg] host not found in upstream "x"',
      '2024/05/01 12:00:00 [alert] 1#1: could not open error log',
    ]);
  });
});
