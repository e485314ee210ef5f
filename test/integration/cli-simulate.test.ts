// `netpol-profiles simulate --kubeconfig` against the test API server: the cluster as the real
// operator converged it (kept objects included), foreign policies read from the cluster, files as
// proposed changes on top, and one-line errors for an unreachable or forbidding API server.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/app.js';
import type { TestApiServer } from '../support/apiserver/server.js';
import { D, eventsFor, eventually, expectConverged, namespace, startOperator, startServerWithCatalog, type RunningOperator } from '../support/operator-harness.js';
import { DEFAULT_CATALOG_DIR } from '../support/project.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function simulate(args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(['simulate', ...args], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), readStdin: () => '', env: { HOME: '/nonexistent' } });
  return { code, stdout, stderr };
}

interface Side {
  verdict: string;
  reasons: Array<Record<string, unknown>>;
}
const flowOf = (run: Run) => (JSON.parse(run.stdout) as { flows: Array<{ verdict: string; egress: Side; ingress: Side }> }).flows[0]!;

describe('simulate command against a live cluster (integration)', function () {
  this.timeout(60_000);
  let server: TestApiServer;
  let running: RunningOperator | undefined;
  let dir: string;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'netpol-simulate-live-'));
    server = await startServerWithCatalog();
    server.apply(namespace('shop', { [`${D}/profile`]: 'standard', [`access.${D}/postgres`]: 'true' }));
    server.apply(namespace('database'));
    server.apply(namespace('blog', { [`${D}/profile`]: 'standrad' }));
    server.apply({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'postgres-only-granted', namespace: 'database' },
      spec: {
        podSelector: { matchLabels: { app: 'postgres' } },
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { [`access.${D}/postgres`]: 'true' } } }], ports: [{ port: 5432 }] }],
      },
    });
    running = await startOperator(server);
    await expectConverged(server);
  });
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const live = () => ['--kubeconfig', server.kubeconfigPath];

  it('decides flows with the generated objects and the foreign NetworkPolicy the cluster holds', async () => {
    const granted = await simulate([...live(), 'shop', 'database/app=postgres', '5432', '-o', 'json']);
    expect(granted.code, granted.stderr).to.equal(0);
    expect(flowOf(granted).egress.reasons).to.deep.equal([{ type: 'allow', policy: 'CiliumNetworkPolicy shop/access-postgres', rule: 'egress[0]' }]);
    expect(flowOf(granted).ingress.reasons).to.deep.equal([{ type: 'allow', policy: 'NetworkPolicy database/postgres-only-granted', rule: 'ingress[0]' }]);

    const refused = await simulate([...live(), 'blog', 'database/app=postgres', '5432', '-o', 'json']);
    expect(refused.code).to.equal(1);
    expect(flowOf(refused).egress.verdict).to.equal('allowed'); // blog's typo changes nothing of its own
    expect(flowOf(refused).ingress.reasons).to.deep.equal([
      { type: 'default-deny', policy: 'NetworkPolicy database/postgres-only-granted', detail: 'policyTypes defaulted to [Ingress]' },
    ]);
  });

  it('a profile the operator keeps after a typo is what is enforced, unlike offline where nothing was ever applied', async () => {
    server.apply(namespace('shop', { [`${D}/profile`]: 'standrad', [`access.${D}/postgres`]: 'true' }));
    await eventually(() => expect(eventsFor(server, 'shop').map((e) => e.reason)).to.include('UnknownProfile'));
    await running!.operator.waitForIdle();
    expect(server.get('cilium.io/v2', 'ciliumnetworkpolicies', 'shop', 'profile-standard')).to.not.equal(undefined);

    const https = await simulate([...live(), 'shop', '198.51.100.7', '443']);
    expect(https.code, https.stdout + https.stderr).to.equal(0);
    const http = await simulate([...live(), 'shop', '198.51.100.7', '80', '-o', 'json']);
    expect(http.code).to.equal(1);
    expect(flowOf(http).egress.reasons.map((r) => r.policy)).to.include('CiliumNetworkPolicy shop/profile-standard');

    // Offline the same labels are a first-time typo: nothing of ours applies to shop's egress but the grant.
    const labels = path.join(dir, 'shop.yaml');
    writeFileSync(labels, `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels: {${D}/profile: standrad, access.${D}/postgres: "true"}\n`);
    const offline = await simulate(['--catalog', DEFAULT_CATALOG_DIR, '--namespaces', labels, 'shop', '198.51.100.7', '80']);
    expect(offline.code, offline.stdout).to.equal(0);
  });

  it('--namespaces files stand for a proposed change on top of the cluster; --matrix --before shows what it changes', async () => {
    const proposed = path.join(dir, 'proposed.yaml');
    writeFileSync(proposed, `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: blog\n  labels: {${D}/profile: standard, access.${D}/postgres: "true"}\n`);
    const flow = await simulate([...live(), '--namespaces', proposed, 'blog', 'database/app=postgres', '5432']);
    expect(flow.code, flow.stdout + flow.stderr).to.equal(0);

    const cluster = path.join(dir, 'cluster.yaml');
    writeFileSync(cluster, `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: blog\n  labels: {${D}/profile: standrad}\n`);
    const diff = await simulate([...live(), '--namespaces', proposed, '--matrix', '--before', cluster, '-o', 'json']);
    expect(diff.code).to.equal(1);
    const changes = (JSON.parse(diff.stdout) as { changes: Array<{ from: string; to: string; port: string; before: string; after: string }> }).changes;
    expect(changes.find((c) => c.from === 'blog' && c.to === 'database/app=postgres')).to.deep.include({ before: 'denied', after: 'allowed' });
    expect(changes.find((c) => c.from === 'blog' && c.to === 'reserved:world' && c.port === '80/TCP')).to.deep.include({ before: 'allowed', after: 'denied' });
    expect(changes.every((c) => c.from === 'blog' || c.to === 'blog' || c.to === 'database/app=postgres')).to.equal(true);
  });

  it('a --policies file replaces the cluster\'s policy of the same kind, namespace and name (a proposed change to it)', async () => {
    const loosened = path.join(dir, 'loosened.yaml');
    writeFileSync(
      loosened,
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: postgres-only-granted, namespace: database}\nspec:\n  podSelector: {matchLabels: {app: postgres}}\n  ingress: [{}]\n',
    );
    expect((await simulate([...live(), 'blog', 'database/app=postgres', '5432'])).code).to.equal(1);
    const run = await simulate([...live(), '--policies', loosened, 'blog', 'database/app=postgres', '5432', '-o', 'json']);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    expect(flowOf(run).ingress.reasons).to.deep.equal([{ type: 'allow', policy: 'NetworkPolicy database/postgres-only-granted', rule: 'ingress[0]' }]);
  });

  it('an unreachable server or missing permissions: one line, exit 2', async () => {
    const kubeconfig = path.join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`,
    );
    const down = await simulate(['--kubeconfig', kubeconfig, 'shop', 'database', '80']);
    expect(down.code).to.equal(2);
    expect(down.stderr.trimEnd().split('\n')).to.have.length(1);
    expect(down.stderr).to.match(/^netpol-profiles simulate: cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:1/);

    server.rbac.enabled = true;
    const forbidden = await simulate(['--kubeconfig', server.kubeconfigFor({ name: 'viewer', groups: ['system:authenticated'] }), 'shop', 'database', '80']);
    expect(forbidden.code).to.equal(2);
    expect(forbidden.stderr.trimEnd().split('\n')).to.have.length(1);
    expect(forbidden.stderr).to.match(/denied access: .*\(simulate needs read access to namespaces, the catalog, CiliumNetworkPolicies, CiliumClusterwideNetworkPolicies and NetworkPolicies\)/);
  });
});
