/**
 * `ecs-ingress lint` as CI runs it: the BUILT CLI (dist/cli/main.js, rebuilt by turbo first, a
 * no-op when current) in a child process on the fixtures of fixtures/lint/, its exit codes and
 * output; hostile inputs end in one clear line and exit 2, never a stack trace; and the NGINX text
 * it prints passes the real `nginx -t` inside a minimal config.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO_ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const BUILT = join(REPO_ROOT, 'packages/controller/dist/cli/main.js');
const FIXTURES = join(REPO_ROOT, 'packages/controller/fixtures/lint');
const fixture = (name: string) => join(FIXTURES, name);
const NGINX = '/usr/sbin/nginx';
const haveNginx = existsSync(NGINX) && existsSync('/usr/bin/openssl');

let dir: string;
beforeAll(async () => {
  await execa('pnpm', ['-s', 'build'], { cwd: REPO_ROOT, timeout: 170_000 });
  dir = await mkdtemp(join(tmpdir(), 'ecs-ingress-lint-'));
}, 180_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function lint(args: readonly string[], env: Record<string, string> = {}) {
  const result = await execa(process.execPath, [BUILT, 'lint', ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, ...env },
    extendEnv: false,
    reject: false,
    timeout: 60_000,
  });
  return { code: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

interface LintJson {
  ok: boolean;
  exitCode: number;
  routes: { kind: string; service: string; route: string; state: string; code?: string; reason: string }[];
  services: { name: string; exposed: boolean; ignoredLabels: string[] }[];
  nginx: { http: string; stream: string; upstreams: string };
}

const states = (json: LintJson) =>
  Object.fromEntries(json.routes.map((r) => [`${r.service}/${r.kind}/${r.route}`, [r.state, r.code ?? '']]));

describe('ecs-ingress lint (built CLI)', () => {
  it('a describe-task-definition output: routes, NGINX text for http and stream, exit 0', async () => {
    const { code, stdout, stderr } = await lint([fixture('shop.describe.json')], {
      ECS_INGRESS_TCP_PORTS: '5432',
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/active {3}http shop\/api {2}api\.example\.com\/orders\n/);
    expect(stdout).toMatch(/active {3}tcp shop\/pg {2}listen 5432/);
    expect(stdout).toContain('server_name shop.example.com;');
    expect(stdout).toMatch(
      /--- stream context \(routes\) ---\n# ecs-ingress routes-stream sha256:[0-9a-f]{64}\nserver \{\n {2}listen 5432;/,
    );
    expect(stdout).toMatch(/ok: 4 routes, all rendered$/);
  });

  it('ECS_INGRESS_TCP_PORTS unset: the tcp route is invalid, exit 1', async () => {
    const { code, stdout } = await lint([fixture('shop.describe.json')]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/invalid {2}tcp shop\/pg[^\n]*\n {11}\[ECS_INGRESS_ROUTE_TCP_PORT_NOT_ALLOWED\]/);
    expect(stdout).toMatch(/FAILED: 1 problems; 3 of 4 routes would be rendered/);
  });

  it('three task definitions: the younger claimant is a conflict (not rendered), the canary splits', async () => {
    const files = ['shop.describe.json', 'shop-next.register.json', 'shop-canary.json'].map(fixture);
    const { code, stdout } = await lint([...files, '--json'], { ECS_INGRESS_TCP_PORTS: '5432' });
    expect(code).toBe(1);
    const json = JSON.parse(stdout) as LintJson;
    expect(json).toMatchObject({ ok: false, exitCode: 1 });
    expect(states(json)).toEqual({
      'shop/http/admin': ['active', ''],
      'shop/http/api': ['active', ''],
      'shop/http/default': ['active', ''],
      'shop/tcp/pg': ['active', ''],
      'shop-canary/http/default': ['active', ''],
      'shop-next/http/default': ['conflict', 'ECS_INGRESS_ROUTE_CONFLICT'],
    });
    expect(json.routes.find((r) => r.service === 'shop-next')?.reason).toBe(
      'prefix / on shop.example.com is held by shop/default (older)',
    );
    expect(json.nginx.http).toContain('split_clients');
    expect(json.nginx.http).toContain('shop-canary');
    expect(json.nginx.http).not.toContain('shop-next');
  });

  it('invalid labels: every problem named with its code, exit 1', async () => {
    const { code, stdout } = await lint([fixture('bad-labels.json')]);
    expect(code).toBe(1);
    expect(stdout).toContain('[ECS_INGRESS_ROUTE_INVALID_HOST] "ecs-ingress.http.hosts": not an RFC 1123');
    expect(stdout).toContain('"ecs-ingress.http.path": path contains ".."');
    expect(stdout).toContain('[ECS_INGRESS_ROUTE_UNKNOWN_KEY] "ecs-ingress.http.ok.colour"');
    // Nothing of the hostile value reaches the NGINX text.
    expect(stdout).not.toContain('return 200 x');
  });

  it('a recording: the newest admitted revision counts; two services on one path: one is a conflict', async () => {
    const { code, stdout } = await lint([fixture('deploy.recording.jsonl'), '--json']);
    expect(code).toBe(1);
    const json = JSON.parse(stdout) as LintJson;
    // web's newest admitted task runs web:2 (/v2), as api:1 does. The recording holds no service's
    // createdAt (no `Service Described` line): both count as the youngest, the name decides.
    expect(states(json)).toEqual({
      'api/http/default': ['active', ''],
      'web/http/default': ['conflict', 'ECS_INGRESS_ROUTE_CONFLICT'],
    });
    expect(json.routes.find((r) => r.service === 'web')?.reason).toBe(
      'prefix /v2 on web.example.com is held by api/default (older)',
    );
    expect(json.nginx.http).toContain('location /v2/ {');
    expect(json.nginx.http).not.toContain('/v1');
  });

  it("a recording with the services' ECS createdAt: the older service wins, whatever the names", async () => {
    const cluster = 'arn:aws:ecs:us-east-1:111122223333:cluster/shop';
    const described = (name: string, createdAt: string) =>
      JSON.stringify({
        version: '0',
        source: 'ecs-ingress',
        'detail-type': 'Service Described',
        time: '2024-05-14T09:00:05.000Z',
        detail: {
          serviceArn: `arn:aws:ecs:us-east-1:111122223333:service/shop/${name}`,
          serviceName: name,
          clusterArn: cluster,
          status: 'ACTIVE',
          createdAt,
        },
      });
    const recording = join(dir, 'aged.recording.jsonl');
    const base = await readFile(fixture('deploy.recording.jsonl'), 'utf8');
    // web is the older service (2023): it keeps /v2 though api sorts first, as the daemon decides.
    await writeFile(
      recording,
      `${base.trimEnd()}\n${described('api', '2024-01-01T00:00:00.000Z')}\n${described('web', '2023-01-01T00:00:00.000Z')}\n`,
    );
    const { code, stdout } = await lint([recording, '--json']);
    expect(code).toBe(1);
    const json = JSON.parse(stdout) as LintJson;
    expect(states(json)).toEqual({
      'api/http/default': ['conflict', 'ECS_INGRESS_ROUTE_CONFLICT'],
      'web/http/default': ['active', ''],
    });
    expect(json.routes.find((r) => r.service === 'api')?.reason).toBe(
      'prefix /v2 on web.example.com is held by web/default (older)',
    );
  });

  it('route labels on a task definition without a serving container: exit 1, said why', async () => {
    const td = JSON.parse(await readFile(fixture('shop-next.register.json'), 'utf8'));
    td.family = 'portless';
    td.containerDefinitions[0].portMappings = [];
    await writeFile(join(dir, 'portless.json'), JSON.stringify(td));
    const { code, stdout } = await lint([join(dir, 'portless.json')]);
    expect(stdout).toMatch(/ERROR: no serving container \(no container has a TCP port mapping/);
    expect(code).toBe(1);
  });

  it('a recording and a new revision of one of its services: the deploy is checked against the cluster', async () => {
    const next = join(dir, 'api-next.json');
    const api = JSON.parse(await readFile(fixture('shop-next.register.json'), 'utf8'));
    api.family = 'api';
    api.containerDefinitions[0].dockerLabels = {
      'ecs-ingress.http.hosts': 'web.example.com',
      'ecs-ingress.http.path': '/api',
    };
    await writeFile(next, JSON.stringify(api));
    const { code, stdout } = await lint([fixture('deploy.recording.jsonl'), next, '--json']);
    expect(code).toBe(0);
    expect(states(JSON.parse(stdout) as LintJson)).toEqual({
      'api/http/default': ['active', ''],
      'web/http/default': ['active', ''],
    });
  });

  it.each<[string, Record<string, string>, string, number, RegExp]>([
    [
      'ECS_INGRESS_HOST_POLICY refuses a host',
      { ECS_INGRESS_HOST_POLICY: 'shop=*.shop.example.com,shop.example.com', ECS_INGRESS_TCP_PORTS: '5432' },
      'shop.describe.json',
      1,
      /\[ECS_INGRESS_ROUTE_HOST_NOT_ALLOWED\] ECS_INGRESS_HOST_POLICY does not let this service claim api\.example\.com/,
    ],
    [
      'ECS_INGRESS_DEFAULT_DOMAIN names a service without hosts',
      { ECS_INGRESS_DEFAULT_DOMAIN: 'apps.example.com' },
      'nohost.json',
      0,
      /server_name nohost\.apps\.example\.com;/,
    ],
  ])('%s', async (_what, env, file, exit, pattern) => {
    if (file === 'nohost.json') {
      const td = JSON.parse(await readFile(fixture('shop-next.register.json'), 'utf8'));
      td.family = 'nohost';
      td.containerDefinitions[0].dockerLabels = { 'ecs-ingress.http.path': '/' };
      await writeFile(join(dir, file), JSON.stringify(td));
    }
    const { code, stdout } = await lint([existsSync(fixture(file)) ? fixture(file) : join(dir, file)], env);
    expect(stdout).toMatch(pattern);
    expect(code).toBe(exit);
  });

  describe('hostile or wrong input: one clear line on stderr, exit 2, no stack trace', () => {
    const td = (labels: unknown) =>
      JSON.stringify({ family: 'x', containerDefinitions: [{ name: 'app', dockerLabels: labels }] });
    // [what, file name, content (undefined: not created), stderr pattern, env]
    it.each<[string, string, string | Buffer | undefined, RegExp, Record<string, string>?]>([
      ['a missing file', 'missing.json', undefined, /missing\.json does not exist \(ENOENT\)/],
      ['malformed JSON', 'broken.json', '{"containerDefinitions": [', /broken\.json: not valid JSON \(/],
      [
        'a JSON array',
        'array.json',
        '[1, 2]',
        /array\.json is not a task definition: expected a JSON object/,
      ],
      [
        'labels that are not an object',
        'labels-array.json',
        td(['ecs-ingress.http.hosts=a.example.com']),
        /labels-array\.json: task definition: containerDefinitions\.0\.dockerLabels: /,
      ],
      [
        'a label value that is not a string',
        'labels-number.json',
        td({ 'ecs-ingress.http.port': 80 }),
        /labels-number\.json: task definition: containerDefinitions\.0\.dockerLabels\.ecs-ingress\.http\.port: /,
      ],
      [
        'a task definition file over 4 MiB',
        'huge.json',
        `{"family":"x","pad":"${'a'.repeat(4 * 1024 * 1024)}","containerDefinitions":[]}`,
        /huge\.json is \d+ bytes: a task definition file may be at most 4194304 bytes/,
      ],
      [
        'a binary file',
        'random.bin',
        Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)),
        /random\.bin is neither a task definition \(.*\) nor a recording: .*looks like a binary file/,
      ],
      ['an empty file', 'empty.jsonl', '', /empty\.jsonl is neither a task definition .* is empty/],
      [
        'a malformed variable',
        'ok.json',
        td({}),
        /ECS_INGRESS_TCP_PORTS: "http" is not a port or a range/,
        { ECS_INGRESS_TCP_PORTS: 'http' },
      ],
    ])('%s', async (_what, name, content, pattern, env = {}) => {
      const path = join(dir, name);
      if (content !== undefined) await writeFile(path, content);
      const { code, stdout, stderr } = await lint([path], env);
      expect(stderr).toMatch(pattern);
      expect(stderr).not.toMatch(/\n\s+at /);
      // One line; the variables' report names each bad variable on a line of its own.
      expect(stderr.trim().split('\n')).toHaveLength(Object.keys(env).length === 0 ? 1 : 2);
      expect(stdout).toBe('');
      expect(code).toBe(2);
    });

    it('a recording line longer than 64 MiB is refused without holding it', async () => {
      const path = join(dir, 'endless.jsonl');
      await writeFile(path, Buffer.alloc(65 * 1024 * 1024, 'a'));
      const { code, stderr } = await lint([path]);
      expect(stderr).toMatch(/endless\.jsonl: line 1 is longer than 67108864 bytes: not a recording/);
      expect(code).toBe(2);
    });

    it('no file at all is a usage error', async () => {
      const { code, stderr } = await lint([]);
      expect(stderr).toMatch(/missing required argument 'files'/);
      expect(code).toBe(2);
    });
  });

  it.skipIf(!haveNginx)('the NGINX text it prints passes the real nginx -t in a minimal config', async () => {
    const bundle = join(dir, 'bundle');
    await mkdir(join(bundle, 'tls'), { recursive: true });
    const made = spawnSync(
      '/usr/bin/openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '2',
      ].concat([
        '-subj',
        '/CN=shop.example.com',
        '-keyout',
        join(bundle, 'tls/shop.key'),
        '-out',
        join(bundle, 'tls/shop.crt'),
      ]),
      { encoding: 'utf8', timeout: 15_000 },
    );
    expect(made.status).toBe(0);
    const files = ['shop.describe.json', 'shop-next.register.json', 'shop-canary.json'].map(fixture);
    const { stdout } = await lint(
      [
        ...files,
        '--json',
        '--bundle-dir',
        bundle,
        '--http-listen',
        '127.0.0.1:18080',
        '--https-listen',
        '127.0.0.1:18443',
      ],
      { ECS_INGRESS_TCP_PORTS: '5432' },
    );
    const { nginx } = JSON.parse(stdout) as LintJson;
    expect(nginx.http).toContain(`ssl_certificate ${bundle}/tls/shop.crt;`);
    await writeFile(join(dir, 'upstreams.conf'), nginx.upstreams);
    await writeFile(join(dir, 'routes-http.conf'), nginx.http);
    await writeFile(join(dir, 'routes-stream.conf'), nginx.stream);
    await mkdir(join(dir, 'temp'), { recursive: true });
    const conf = join(dir, 'nginx.conf');
    await writeFile(
      conf,
      [
        'load_module /usr/lib/nginx/modules/ngx_stream_module.so;',
        `pid ${dir}/nginx.pid;`,
        'events { worker_connections 64; }',
        `http { client_body_temp_path ${dir}/temp/body; proxy_temp_path ${dir}/temp/proxy; access_log off;`,
        `  include ${dir}/upstreams.conf; include ${dir}/routes-http.conf; }`,
        `stream { include ${dir}/upstreams.conf; include ${dir}/routes-stream.conf; }`,
        '',
      ].join('\n'),
    );
    const tested = spawnSync(NGINX, ['-t', '-p', `${dir}/`, '-c', conf, '-e', join(dir, 'error.log')], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(tested.stderr).toMatch(/test is successful/);
    expect(tested.status).toBe(0);
  });
});
