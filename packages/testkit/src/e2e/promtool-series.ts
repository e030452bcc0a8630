/**
 * Runs the shipped alert rules (deploy/prometheus/alerts.yml) over series scraped from a real
 * daemon, with `promtool test rules`: a few /metrics scrapes become `input_series` (one sample a
 * minute, the last scrape held for the rest of the window, as a quiet cluster would look), with the
 * `job` and `instance` labels Prometheus adds.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

const DEPLOY = resolve(fileURLToPath(new URL('../../../../deploy', import.meta.url)));
export const ALERTS_FILE = join(DEPLOY, 'prometheus/alerts.yml');

export const SCRAPE_LABELS = { job: 'ecs-ingress', instance: '127.0.0.1:10254' } as const;

interface AlertRule {
  readonly alert: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

/** The alert rules shipped in deploy/prometheus/alerts.yml. */
export async function shippedAlerts(): Promise<AlertRule[]> {
  const doc = parseYaml(await readFile(ALERTS_FILE, 'utf8')) as { groups: { rules: AlertRule[] }[] };
  return doc.groups.flatMap((g) => g.rules).filter((r) => typeof r.alert === 'string');
}

/** `series{labels}` → value of every finite sample of a Prometheus text exposition. */
export function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const value = Number(match[3]);
    if (!Number.isFinite(value)) continue;
    samples.set(`${match[1]}${withScrapeLabels(match[2])}`, value);
  }
  return samples;
}

function withScrapeLabels(labels: string | undefined): string {
  const extra = `job="${SCRAPE_LABELS.job}",instance="${SCRAPE_LABELS.instance}"`;
  if (labels === undefined || labels === '{}') return `{${extra}}`;
  return `{${labels.slice(1, -1)},${extra}}`;
}

/**
 * `input_series` from scrapes taken one minute apart (scrape i at minute i), the last one held to
 * `minutes`. A series absent from a scrape is `_` (no sample) there.
 */
export function inputSeries(
  scrapes: readonly string[],
  minutes: number,
): { series: string; values: string }[] {
  const parsed = scrapes.map(parseExposition);
  const names = new Set(parsed.flatMap((p) => [...p.keys()]));
  const held = minutes - (parsed.length - 1);
  return [...names].sort().map((series) => {
    const values = parsed.map((p) => {
      const v = p.get(series);
      return v === undefined ? '_' : String(v);
    });
    const last = values[values.length - 1] ?? '_';
    return { series, values: `${values.slice(0, -1).join(' ')} ${last}x${held}`.trim() };
  });
}

export interface ExpectedAlert {
  readonly alertname: string;
  readonly evalTime: string;
  /** Labels beyond the scrape's and the rule's own (e.g. `reason`). */
  readonly labels?: Record<string, string>;
}

/** `{{ $labels.x }}` of the shipped annotations, filled in as Prometheus would. */
function renderTemplate(text: string, labels: Record<string, string>): string {
  return text.replace(/\{\{\s*\$labels\.([a-z_]+)\s*\}\}/g, (_m, name: string) => labels[name] ?? '');
}

/**
 * Runs `promtool test rules` over the scrapes. Every shipped alert is checked at each of
 * `evalTimes`: silent, except the ones in `firing` (at their own eval time).
 * @returns promtool's exit code and output
 */
export async function promtoolOverScrapes(
  promtool: string,
  scrapes: readonly string[],
  options: {
    minutes: number;
    evalTimes: readonly string[];
    firing?: readonly ExpectedAlert[];
    /** Alerts left unchecked (their outcome depends on when the scrapes were taken). */
    ignore?: readonly string[];
    /** PromQL expressions (dashboard queries) and the single `{}` value each must give. */
    exprs?: readonly { readonly expr: string; readonly evalTime: string; readonly value: number }[];
  },
): Promise<{ exitCode: number; output: string; testFile: string }> {
  const alerts = await shippedAlerts();
  const firing = options.firing ?? [];
  const tests = [];
  for (const rule of alerts) {
    if (options.ignore?.includes(rule.alert)) continue;
    for (const evalTime of options.evalTimes) {
      if (firing.some((f) => f.alertname === rule.alert && f.evalTime === evalTime)) continue;
      tests.push({ eval_time: evalTime, alertname: rule.alert, exp_alerts: [] });
    }
  }
  for (const f of firing) {
    const rule = alerts.find((r) => r.alert === f.alertname);
    if (rule === undefined) throw new Error(`no shipped alert ${f.alertname}`);
    const labels = { ...SCRAPE_LABELS, ...(rule.labels ?? {}), ...(f.labels ?? {}) };
    const annotations = Object.fromEntries(
      Object.entries(rule.annotations ?? {}).map(([k, v]) => [k, renderTemplate(v, labels)]),
    );
    tests.push({
      eval_time: f.evalTime,
      alertname: f.alertname,
      exp_alerts: [{ exp_labels: labels, exp_annotations: annotations }],
    });
  }
  const doc = {
    rule_files: [ALERTS_FILE],
    evaluation_interval: '1m',
    tests: [
      {
        name: 'series scraped from a daemon',
        interval: '1m',
        input_series: inputSeries(scrapes, options.minutes),
        alert_rule_test: tests,
        promql_expr_test: (options.exprs ?? []).map((e) => ({
          expr: e.expr,
          eval_time: e.evalTime,
          exp_samples: [{ labels: '{}', value: e.value }],
        })),
      },
    ],
  };
  const dir = await mkdtemp(join(tmpdir(), 'ecs-ingress-promtool-'));
  const testFile = join(dir, 'scraped.test.yml');
  try {
    await writeFile(testFile, stringifyYaml(doc, { lineWidth: 0 }));
    const result = await execa(promtool, ['test', 'rules', testFile], { reject: false, all: true });
    return { exitCode: result.exitCode ?? -1, output: result.all ?? '', testFile };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The query of the dashboard panel titled `title` (deploy/grafana), with its `$job` / `$instance`
 * variables set to match every series.
 */
export async function dashboardQuery(title: string): Promise<string> {
  const dashboard = JSON.parse(
    await readFile(join(DEPLOY, 'grafana/ecs-ingress-dashboard.json'), 'utf8'),
  ) as {
    panels: { title?: string; targets?: { expr?: string }[]; panels?: unknown[] }[];
  };
  const panel = dashboard.panels.find((p) => p.title === title);
  const expr = panel?.targets?.[0]?.expr;
  if (expr === undefined) throw new Error(`no dashboard panel ${JSON.stringify(title)}`);
  return expr.replaceAll('$job', '.*').replaceAll('$instance', '.*');
}
