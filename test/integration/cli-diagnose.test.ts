// `netpol-profiles diagnose` through the CLI: every cause on the example Hubble flows (offline, with
// the example policies and workloads), the table and the JSON, exit codes, lines that are not
// flows, stdin, and live against the test API server (the catalog, labels and policies read from the
// cluster, and a flow seen before a label changed).
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { main } from '../../src/cli/app.js';
import type { TestApiServer } from '../support/apiserver/server.js';
import { cli, expectNoStackTrace } from '../support/cli.js';
import { D, expectConverged, namespace, startOperator, startServerWithCatalog, type RunningOperator } from '../support/operator-harness.js';
import { DEFAULT_CATALOG_DIR, EXAMPLE_NAMESPACES, projectPath } from '../support/project.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function diagnose(args: string[], stdin = ''): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(['diagnose', ...args], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    readStdin: () => stdin,
    openStdin: () => Readable.from([stdin]),
    env: { HOME: '/nonexistent' },
  });
  return { code, stdout, stderr };
}

interface Drop {
  namespace: string;
  from: string;
  to: string;
  port: string;
  direction: string;
  count: number;
  cause: string;
  fix: { namespace: string; labels: Record<string, string> } | null;
  detail: string;
  proof: { verdict: string } | null;
}

const EXAMPLES = ['--catalog', DEFAULT_CATALOG_DIR, '--namespaces', EXAMPLE_NAMESPACES, '--policies', projectPath('examples/policies.yaml'), '--pods', projectPath('examples/pods.yaml')];
const FLOWS = projectPath('examples/hubble-flows.jsonl');

describe('diagnose command (integration)', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'netpol-diagnose-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('offline, on the example flows', () => {
    let drops: Drop[];
    before(async () => {
      const run = await diagnose([...EXAMPLES, FLOWS, '-o', 'json']);
      expect(run.code, run.stderr).to.equal(1);
      drops = (JSON.parse(run.stdout) as { drops: Drop[] }).drops;
    });
    const find = (from: string, to: string, port: string) => drops.find((d) => d.from === from && d.to === to && d.port === port)!;

    it('missing-access-label: reports has no postgres access; the fix is the label, proven allowed past the database\'s own policy', () => {
      const drop = find('reports/nightly', 'database/postgres', '5432/TCP');
      expect(drop).to.deep.include({ namespace: 'reports', direction: 'egress', count: 3, cause: 'missing-access-label' });
      expect(drop.fix).to.deep.equal({ namespace: 'reports', labels: { [`access.${D}/postgres`]: 'true' } });
      expect(drop.proof!.verdict).to.equal('allowed');
    });

    it('profile-too-narrow: grafana to the internet (IPv4 by name, IPv6 by address); billing from the external gateway', () => {
      for (const to of ['api.github.com', '2606:50c0:8000::154']) {
        expect(find('grafana/grafana', to, '443/TCP')).to.deep.include({ cause: 'profile-too-narrow', fix: { namespace: 'grafana', labels: { [`${D}/profile`]: 'internal-egress' } } });
      }
      const ingress = find('istio-gateway/external-istio', 'billing/billing-api', '8080/TCP');
      expect(ingress).to.deep.include({ namespace: 'billing', direction: 'ingress', cause: 'profile-too-narrow', fix: { namespace: 'billing', labels: { [`${D}/profile`]: 'standard' } } });
    });

    it('baseline-missing: DNS from shop, Prometheus scraping shop', () => {
      expect(find('shop/web', 'kube-system/coredns', '53/UDP')).to.deep.include({ cause: 'baseline-missing', fix: null });
      expect(find('monitoring/prometheus-k8s', 'shop/web', '9090/TCP').detail).to.contain('baseline-prometheus-scrape');
    });

    it('peer-denies, explicit-deny, not-in-catalog, not-a-policy-drop and allowed-now, each with its detail', () => {
      expect(find('monitoring/prometheus-k8s', 'database/postgres', '5432/TCP')).to.deep.include({ cause: 'peer-denies', fix: null });
      expect(find('monitoring/prometheus-k8s', 'database/postgres', '5432/TCP').detail).to.contain('NetworkPolicy database/postgres');
      expect(find('reserved:remote-node', 'reports/nightly', '8080/TCP').cause).to.equal('peer-denies');
      expect(find('shop/web', '169.254.169.254', '80/TCP')).to.deep.include({ cause: 'explicit-deny' });
      expect(find('shop/web', '169.254.169.254', '80/TCP').detail).to.contain('block-cloud-metadata egressDeny[0]');
      expect(find('shop/web', '198.51.100.22', '22/TCP').cause).to.equal('not-in-catalog');
      expect(find('shop/web', 'database/postgres', '5432/TCP')).to.deep.include({ cause: 'not-a-policy-drop' });
      const argo = find('argo-workflows/workflow-controller', 'reserved:kube-apiserver', '6443/TCP');
      expect(argo.cause).to.equal('allowed-now');
      expect(argo.detail).to.contain(`today access.${D}/kube-api=true`);
    });

    it('the table groups by namespace, with counts, causes, fixes and a detail line; the broken line is named', async () => {
      const run = await diagnose([...EXAMPLES, FLOWS]);
      expect(run.code).to.equal(1);
      const lines = run.stdout.trimEnd().split('\n');
      expect(lines[0]).to.match(/^NAMESPACE +DIRECTION +FROM +TO +PORT +COUNT +CAUSE +FIX$/);
      const namespaces = lines.filter((l) => !l.startsWith(' ') && l !== lines[0] && l !== lines.at(-1)).map((l) => l.split(/ +/)[0]);
      expect(namespaces).to.deep.equal([...namespaces].sort());
      expect(run.stdout).to.match(/^reports +egress +reports\/nightly +database\/postgres +5432\/TCP +3 +missing-access-label +reports: access\.network-policy\.homelab\/postgres="true"$/m);
      expect(run.stdout).to.contain('Proof with the fix: allowed');
      expect(lines.at(-1)).to.match(/^15 dropped flows in 12 groups: /);
      expect(run.stderr).to.contain(`diagnose: ${FLOWS}:20: is not JSON; skipped`);
    });
  });

  it('as a process, from stdin: the same drops', () => {
    const flows = readFileSync(FLOWS, 'utf8');
    const run = cli(['diagnose', ...EXAMPLES, '-', '-o', 'json'], { input: flows });
    expect(run.code, run.stderr).to.equal(1);
    expect((JSON.parse(run.stdout) as { drops: Drop[] }).drops).to.have.length(12);
    expect(run.stderr).to.contain('<stdin>:20: is not JSON; skipped');
  });

  it('no drops: exit 0; no flow at all, a missing file, usage errors: exit 2, one line', async () => {
    const forwarded = path.join(dir, 'ok.jsonl');
    writeFileSync(forwarded, `${readFileSync(FLOWS, 'utf8').split('\n')[0]}\n`);
    const ok = await diagnose([...EXAMPLES, forwarded]);
    expect(ok).to.deep.include({ code: 0, stdout: 'no dropped flows among 1 flows\n' });
    const junk = path.join(dir, 'junk.txt');
    writeFileSync(junk, 'hello\nworld\n');
    const none = await diagnose([...EXAMPLES, junk]);
    expect(none.code).to.equal(2);
    expect(none.stderr).to.match(/junk\.txt:1: is not JSON; skipped\n.*junk\.txt:2: is not JSON; skipped\n.*junk\.txt: no Hubble flow in 2 lines/s);
    for (const [args, pattern] of [
      [[...EXAMPLES, path.join(dir, 'missing')], /missing: cannot read: no such file or directory/],
      [[...EXAMPLES], /expected one FILE of Hubble flows \(or - for stdin\), got 0/],
      [[FLOWS], /offline, diagnose needs --catalog PATH and --namespaces PATH/],
      [[...EXAMPLES, FLOWS, '-o', 'yaml'], /--output must be table or json/],
    ] as const) {
      const run = await diagnose([...args]);
      expect(run.code, run.stderr).to.equal(2);
      expect(run.stderr.trimEnd().split('\n'), run.stderr).to.have.length(1);
      expect(run.stderr).to.match(pattern);
      expectNoStackTrace({ ...run, code: run.code });
    }
  });

  describe('live, against the test API server', () => {
    let server: TestApiServer;
    let running: RunningOperator | undefined;
    before(async () => {
      server = await startServerWithCatalog();
      server.apply(namespace('shop', { [`${D}/profile`]: 'standard' }));
      server.apply(namespace('database'));
      server.apply(namespace('kube-system'));
      running = await startOperator(server);
      await expectConverged(server);
      await running.stop();
      running = undefined;
    });
    after(async () => {
      await running?.stop();
      await server.stop();
    });

    it('reads the catalog, labels and policies from the cluster: a missing grant, and DNS with baseline-dns deleted', async () => {
      server.delete('cilium.io/v2', 'ciliumclusterwidenetworkpolicies', undefined, 'baseline-dns');
      const lines = [
        { source: 'shop', destination: { namespace: 'database', labels: ['k8s:app=postgres', 'k8s:io.kubernetes.pod.namespace=database'] }, port: 5432, udp: false },
        { source: 'shop', destination: { namespace: 'kube-system', labels: ['k8s:k8s-app=kube-dns', 'k8s:io.kubernetes.pod.namespace=kube-system'] }, port: 53, udp: true },
      ].map(({ source, destination, port, udp }) =>
        JSON.stringify({
          flow: {
            verdict: 'DROPPED',
            drop_reason: 133,
            drop_reason_desc: 'POLICY_DENIED',
            traffic_direction: 'EGRESS',
            l4: udp ? { UDP: { source_port: 3333, destination_port: port } } : { TCP: { source_port: 3333, destination_port: port, flags: { SYN: true } } },
            source: { namespace: source, labels: [`k8s:io.kubernetes.pod.namespace=${source}`, `k8s:io.cilium.k8s.namespace.labels.${D}/profile=standard`, 'k8s:app=web'], pod_name: 'web-0' },
            destination,
          },
        }),
      );
      const file = path.join(dir, 'live.jsonl');
      writeFileSync(file, `${lines.join('\n')}\n`);
      const run = await diagnose(['--kubeconfig', server.kubeconfigPath, file, '-o', 'json']);
      expect(run.code, run.stderr).to.equal(1);
      const drops = (JSON.parse(run.stdout) as { drops: Drop[] }).drops;
      expect(drops.find((d) => d.port === '5432/TCP')).to.deep.include({ cause: 'missing-access-label', fix: { namespace: 'shop', labels: { [`access.${D}/postgres`]: 'true' } } });
      expect(drops.find((d) => d.port === '53/UDP')).to.deep.include({ cause: 'baseline-missing' });
    });
  });
});
