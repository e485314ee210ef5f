// The operator's /metrics as Prometheus sees it: valid exposition (promtool check metrics), the
// escape-hatch series appearing and disappearing with the label, the durable since-time across a
// restart; and an end-to-end run with a real Prometheus on 127.0.0.1 scraping every second with
// time-compressed rules: the alert goes pending then firing, with `namespace` intact.
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { serveMetrics, type RunningServer } from '../../src/observability/http.js';
import type { TestApiServer } from '../support/apiserver/server.js';
import { loadAlertRules, requirePrometheusTool, shortenAlertRules } from '../support/alert-rules.js';
import { D, eventually, expectConverged, namespace, startOperator, startServerWithCatalog, type RunningOperator } from '../support/operator-harness.js';
import { PROJECT_ROOT } from '../support/project.js';

/** PromQL's own words in the dashboard's queries; every other name in a query is a metric. */
const PROMQL_WORDS = new Set(['sum', 'max', 'min', 'count', 'avg', 'rate', 'increase', 'histogram_quantile', 'time', 'vector', 'or', 'and', 'unless', 'by', 'without', 'on', 'ignoring', 'bool', 'offset']);

/** The metric names a PromQL expression selects. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  return [...new Set((bare.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? []).filter((word) => !PROMQL_WORDS.has(word)))].sort();
}

/** Every series name the exposition offers (a histogram's _bucket, _sum and _count). */
function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const match of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = match as unknown as [string, string, string];
    if (type === 'histogram' || type === 'summary') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    names.add(name);
  }
  return names;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

describe('metrics (integration)', function () {
  this.timeout(90_000);
  let server: TestApiServer;
  let running: RunningOperator | undefined;
  let endpoint: RunningServer | undefined;

  beforeEach(async () => {
    server = await startServerWithCatalog();
    server.apply(namespace('legacy', { [`${D}/profile`]: 'standard' }));
    server.apply(namespace('blog', { [`${D}/profile`]: 'standrad' }));
  });
  afterEach(async () => {
    await endpoint?.close();
    endpoint = undefined;
    await running?.stop();
    running = undefined;
    await server.stop();
  });

  async function startWithEndpoint(): Promise<string> {
    running = await startOperator(server);
    endpoint = await serveMetrics(running.metrics.registry, { host: '127.0.0.1', port: 0 });
    return `http://127.0.0.1:${endpoint.address.port}/metrics`;
  }

  it('serves exposition that promtool accepts; the escape-hatch series follow the label and keep their time across a restart', async () => {
    const promtool = requirePrometheusTool('promtool');
    let url = await startWithEndpoint();
    await expectConverged(server);
    const scrape = async () => (await fetch(url)).text();

    // promtool's lint objects to three of prom-client's own default gauges (named *_total); every
    // other finding, and any finding about our metrics, fails the test.
    const checked = spawnSync(promtool, ['check', 'metrics'], { input: await scrape(), encoding: 'utf8' });
    const findings = `${checked.stdout}${checked.stderr}`.split('\n').filter((line) => line.trim() !== '');
    const PROM_CLIENT_DEFAULTS = /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;
    expect(findings.filter((line) => !PROM_CLIENT_DEFAULTS.test(line))).to.deep.equal([]);
    expect(checked.status === 0 || findings.length > 0, 'promtool failed without saying why').to.equal(true);
    const body = await scrape();
    for (const name of [
      'netpol_profiles_namespaces', 'netpol_profiles_label_errors', 'netpol_profiles_managed_policies', 'netpol_profiles_reconcile_total',
      'netpol_profiles_reconcile_duration_seconds', 'netpol_profiles_workqueue_depth', 'netpol_profiles_api_writes_total',
      'netpol_profiles_drift_corrections_total', 'netpol_profiles_watch_restarts_total', 'netpol_profiles_leader', 'netpol_profiles_build_info',
    ]) {
      expect(body, name).to.match(new RegExp(`^${name}`, 'm'));
    }
    expect(body).to.contain('netpol_profiles_label_errors{namespace="blog",label="network-policy.homelab/profile",reason="UnknownProfile"} 1');
    expect(body).not.to.contain('netpol_profiles_enforcement_disabled{');

    server.apply(namespace('legacy', { [`${D}/profile`]: 'standard', [`${D}/enforcement`]: 'disabled' }));
    await eventually(async () => expect(await scrape()).to.match(/^netpol_profiles_enforcement_disabled_since_timestamp_seconds\{namespace="legacy"\} \d+$/m), 1_000, 'series within a second');
    const since = /netpol_profiles_enforcement_disabled_since_timestamp_seconds\{namespace="legacy"\} (\d+)/.exec(await scrape())![1];

    await endpoint!.close();
    await running!.stop();
    url = await startWithEndpoint();
    await eventually(async () => expect(await scrape()).to.contain(`netpol_profiles_enforcement_disabled_since_timestamp_seconds{namespace="legacy"} ${since}`));

    server.apply(namespace('legacy', { [`${D}/profile`]: 'standard' }));
    await eventually(async () => expect(await scrape()).not.to.contain('namespace="legacy"'), 1_000, 'series gone within a second');
    // Namespace-labelled series exist only while there is a problem: fixing the typo removes them.
    server.apply(namespace('blog', { [`${D}/profile`]: 'standard' }));
    await eventually(async () => expect(await scrape()).not.to.contain('namespace="blog"'));
  });

  it('the Grafana dashboard: every panel query runs against a real Prometheus scraping the operator, returns data, and names only metrics the operator exports', async () => {
    const prometheus = requirePrometheusTool('prometheus');
    const url = await startWithEndpoint();
    // Every situation a panel shows: a label typo (blog), an escape hatch, an invalid catalog object, a squatted name.
    server.apply(namespace('legacy', { [`${D}/profile`]: 'standard', [`${D}/enforcement`]: 'disabled' }));
    server.apply(namespace('wiki'));
    server.apply({ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'profile-internal', namespace: 'wiki' }, spec: { endpointSelector: {}, ingress: [{}] } });
    server.apply(namespace('wiki', { [`${D}/profile`]: 'internal' }));
    const profile = server.get(`${D}/v1alpha1`, 'networkprofiles', undefined, 'isolated')!;
    server.apply({ ...profile, spec: { ...(profile.spec as object), egress: [{ toEntitie: ['world'] }] } });
    const exposition = await (await fetch(url)).text();
    await eventually(async () => {
      const body = await (await fetch(url)).text();
      expect(body).to.contain('netpol_profiles_name_conflicts{kind="CiliumNetworkPolicy",namespace="wiki",name="profile-internal"} 1');
      expect(body).to.contain('netpol_profiles_catalog_invalid{kind="NetworkProfile",name="isolated"} 1');
    });
    const exported = exportedNames(exposition);
    exported.add('up'); // Prometheus' own series about each target

    // What ships: a ConfigMap with the Grafana sidecar's label holding exactly the JSON file.
    const json = readFileSync(path.join(PROJECT_ROOT, 'manifests', 'grafana', 'netpol-profiles.json'), 'utf8');
    const built = spawnSync('kubectl', ['kustomize', path.join(PROJECT_ROOT, 'manifests', 'grafana')], { encoding: 'utf8' });
    expect(built.status, built.stderr).to.equal(0);
    const configMap = parse(built.stdout) as { kind: string; metadata: { name: string; labels: Record<string, string> }; data: Record<string, string> };
    expect(configMap.kind).to.equal('ConfigMap');
    expect(configMap.metadata.labels.grafana_dashboard).to.equal('1');
    expect(configMap.data['netpol-profiles.json']).to.equal(json);
    const dashboard = JSON.parse(json) as {
      panels: Array<{ type: string; title: string; targets?: Array<{ expr: string }> }>;
    };
    const queries = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })));
    expect(queries.length, 'panel queries').to.be.greaterThan(15);
    for (const { panel, expr } of queries) {
      const names = metricNames(expr);
      expect(names.length, `${panel}: ${expr} names a metric`).to.be.greaterThan(0);
      for (const name of names) expect(exported.has(name), `${panel}: ${name} is not exported by the operator`).to.equal(true);
    }

    const dir = mkdtempSync(path.join(tmpdir(), 'netpol-grafana-'));
    const target = new URL(url);
    writeFileSync(
      path.join(dir, 'prometheus.yml'),
      stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        scrape_configs: [{ job_name: 'netpol-profiles-metrics', honor_labels: true, static_configs: [{ targets: [target.host], labels: { namespace: 'netpol-profiles', pod: 'netpol-profiles-0' } }] }],
      }),
    );
    const port = await freePort();
    let child: ChildProcess | undefined;
    try {
      child = spawn(prometheus, [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
      const query = async (expr: string) => {
        const response = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(expr)}`);
        return (await response.json()) as { status: string; error?: string; warnings?: string[]; data?: { result: unknown[] } };
      };
      await eventually(async () => expect((await fetch(`http://127.0.0.1:${port}/-/ready`)).status).to.equal(200), 30_000, 'Prometheus ready');
      // Rates need two scrapes of the series.
      await eventually(async () => expect((await query('count_over_time(netpol_profiles_leader[1m])')).data?.result[0]).to.have.nested.property('value[1]').that.satisfies((v: string) => Number(v) >= 3), 30_000, 'three scrapes');
      for (const { panel, expr } of queries) {
        const answer = await query(expr);
        expect(answer.status, `${panel}: ${expr}: ${answer.error}`).to.equal('success');
        expect(answer.warnings ?? [], `${panel}: ${expr}`).to.deep.equal([]);
        expect(answer.data?.result.length ?? 0, `${panel}: ${expr} returns data`).to.be.greaterThan(0);
      }
    } finally {
      child?.kill('SIGTERM');
      if (child && child.exitCode === null) await new Promise((resolve) => child!.once('exit', resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('end to end with a real Prometheus: the escape-hatch alert goes pending, then firing, with its namespace label; the catalog and name-conflict alerts fire', async () => {
    const prometheus = requirePrometheusTool('prometheus');
    const url = await startWithEndpoint();
    const dir = mkdtempSync(path.join(tmpdir(), 'netpol-prometheus-'));
    // 5 m → 5 s, 24 h → 24 s: pending for a few seconds, then firing.
    writeFileSync(path.join(dir, 'rules.yaml'), stringify(shortenAlertRules(loadAlertRules(), { factor: 1 / 60 })));
    const target = new URL(url);
    writeFileSync(
      path.join(dir, 'prometheus.yml'),
      stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: [path.join(dir, 'rules.yaml')],
        scrape_configs: [
          {
            job_name: 'netpol-profiles-metrics',
            honor_labels: true,
            // As a ServiceMonitor would: the target's own namespace label, which the metric's must beat.
            static_configs: [{ targets: [target.host], labels: { namespace: 'netpol-profiles', pod: 'netpol-profiles-0' } }],
          },
        ],
      }),
    );
    const port = await freePort();
    let child: ChildProcess | undefined;
    try {
      child = spawn(prometheus, [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], {
        stdio: 'ignore',
      });
      const alerts = async (name = 'NetworkPolicyEnforcementDisabled') => {
        const response = await fetch(`http://127.0.0.1:${port}/api/v1/alerts`);
        const body = (await response.json()) as { data: { alerts: Array<{ labels: Record<string, string>; state: string }> } };
        return body.data.alerts.filter((a) => a.labels.alertname === name);
      };
      await eventually(async () => expect((await fetch(`http://127.0.0.1:${port}/-/ready`)).status).to.equal(200), 30_000, 'Prometheus ready');
      server.apply(namespace('legacy', { [`${D}/profile`]: 'standard', [`${D}/enforcement`]: 'disabled' }));
      // The two silent failures: an invalid catalog object, and a generated name squatted by someone else.
      const profile = server.get(`${D}/v1alpha1`, 'networkprofiles', undefined, 'isolated')!;
      server.apply({ ...profile, spec: { ...(profile.spec as object), egress: [{ toEntitie: ['world'] }] } });
      server.apply(namespace('wiki'));
      server.apply({ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'profile-internal', namespace: 'wiki' }, spec: { endpointSelector: {}, ingress: [{}] } });
      server.apply(namespace('wiki', { [`${D}/profile`]: 'internal' }));
      // A cluster-wide name squatted before its NetworkBaseline arrives.
      server.apply({ apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: 'baseline-ntp' }, spec: { endpointSelector: {}, egress: [{ toEntities: ['world'] }] } });
      server.apply({ apiVersion: `${D}/v1alpha1`, kind: 'NetworkBaseline', metadata: { name: 'ntp' }, spec: { endpointSelector: {}, egress: [{ toEntities: ['world'], toPorts: [{ ports: [{ port: '123', protocol: 'UDP' }] }] }] } });
      await eventually(async () => expect((await alerts()).map((a) => a.state)).to.deep.equal(['pending']), 30_000, 'alert pending');
      await eventually(async () => expect((await alerts()).map((a) => a.state)).to.deep.equal(['firing']), 30_000, 'alert firing');
      const [firing] = await alerts();
      expect(firing!.labels.namespace).to.equal('legacy');
      expect(firing!.labels).not.to.have.property('exported_namespace');
      expect(firing!.labels.severity).to.equal('warning');
      // 10 minutes → 10 s.
      await eventually(async () => expect((await alerts('NetworkPolicyCatalogInvalid')).map((a) => [a.state, a.labels.kind, a.labels.name])).to.deep.equal([['firing', 'NetworkProfile', 'isolated']]), 30_000, 'catalog alert firing');
      await eventually(
        async () =>
          expect((await alerts('NetworkPolicyNameConflict')).map((a) => [a.state, a.labels.kind, a.labels.namespace, a.labels.name]).sort()).to.deep.equal([
            // The scrape target carries namespace=netpol-profiles; a cluster-wide object's alert has no namespace all the same.
            ['firing', 'CiliumClusterwideNetworkPolicy', undefined, 'baseline-ntp'],
            ['firing', 'CiliumNetworkPolicy', 'wiki', 'profile-internal'],
          ]),
        30_000,
        'name-conflict alert firing',
      );
    } finally {
      child?.kill('SIGTERM');
      if (child && child.exitCode === null) await new Promise((resolve) => child!.once('exit', resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
