// The operator's /metrics as Prometheus sees it: valid exposition (promtool check metrics), the
// escape-hatch series appearing and disappearing with the label, the durable since-time across a
// restart; and an end-to-end run with a real Prometheus on 127.0.0.1 scraping every second with
// time-compressed rules: the alert goes pending then firing, with `namespace` intact.
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { serveMetrics, type RunningServer } from '../../src/observability/http.js';
import type { TestApiServer } from '../support/apiserver/server.js';
import { loadAlertRules, requirePrometheusTool, shortenAlertRules } from '../support/alert-rules.js';
import { D, eventually, expectConverged, namespace, startOperator, startServerWithCatalog, type RunningOperator } from '../support/operator-harness.js';

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

  it('end to end with a real Prometheus: the escape-hatch alert goes pending, then firing, with its namespace label', async () => {
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
      const alerts = async () => {
        const response = await fetch(`http://127.0.0.1:${port}/api/v1/alerts`);
        const body = (await response.json()) as { data: { alerts: Array<{ labels: Record<string, string>; state: string }> } };
        return body.data.alerts.filter((a) => a.labels.alertname === 'NetworkPolicyEnforcementDisabled');
      };
      await eventually(async () => expect((await fetch(`http://127.0.0.1:${port}/-/ready`)).status).to.equal(200), 30_000, 'Prometheus ready');
      server.apply(namespace('legacy', { [`${D}/profile`]: 'standard', [`${D}/enforcement`]: 'disabled' }));
      await eventually(async () => expect((await alerts()).map((a) => a.state)).to.deep.equal(['pending']), 30_000, 'alert pending');
      await eventually(async () => expect((await alerts()).map((a) => a.state)).to.deep.equal(['firing']), 30_000, 'alert firing');
      const [firing] = await alerts();
      expect(firing!.labels.namespace).to.equal('legacy');
      expect(firing!.labels).not.to.have.property('exported_namespace');
      expect(firing!.labels.severity).to.equal('warning');
    } finally {
      child?.kill('SIGTERM');
      if (child && child.exitCode === null) await new Promise((resolve) => child!.once('exit', resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
