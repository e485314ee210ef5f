// `netpol-profiles status` against the test API server: a cluster the real operator converged,
// then each finding made by hand (with the operator stopped, so nothing repairs it), -n, usage and
// connection errors, RBAC, and the kubectl plugin. In-process through main(), and as processes.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { main } from '../../src/cli/app.js';
import type { CommandIO } from '../../src/cli/io.js';
import { microTime } from '../../src/kube/time.js';
import type { StatusReport } from '../../src/status/report.js';
import { TestApiServer } from '../support/apiserver/server.js';
import { ciliumCrdFiles } from '../support/apiserver/crds.js';
import type { KubeObject } from '../support/apiserver/types.js';
import { D, eventually, expectConverged, namespace, startOperator, startServerWithCatalog, type RunningOperator } from '../support/operator-harness.js';
import { CLI, projectPath } from '../support/project.js';

const OPERATOR_NS = 'netpol-profiles';
const SHOP = { [`${D}/profile`]: 'standard', [`access.${D}/postgres`]: 'true' };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function status(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: CommandIO = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), readStdin: () => '', env };
  const code = await main(['status', ...args], io);
  return { code, stdout, stderr };
}

/**
 * Runs a program to completion without blocking: the test API server lives in this process, so a
 * synchronous spawn would leave the child waiting for answers that never come.
 */
function runProgram(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

function statusProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return runProgram(process.execPath, [CLI, 'status', ...args], { PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...env });
}

/** One line on stderr, no stack trace, nothing on stdout. */
function expectOneLineError(run: Run, code: number, pattern: RegExp): void {
  expect(run.code, run.stderr).to.equal(code);
  expect(run.stdout).to.equal('');
  expect(run.stderr.endsWith('\n')).to.equal(true);
  expect(run.stderr.trimEnd().split('\n'), run.stderr).to.have.length(1);
  expect(run.stderr).to.match(pattern);
  expect(run.stderr).not.to.match(/\bat .+:\d+:\d+/);
}

const leaderElection = (identity: string) => ({
  enabled: true,
  namespace: OPERATOR_NS,
  name: 'netpol-profiles',
  identity,
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
});

/** A leader that is alive but (as far as the test is concerned) does nothing: isolates one finding. */
function quietLeader(server: TestApiServer): void {
  server.apply({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'netpol-profiles', namespace: OPERATOR_NS },
    spec: { holderIdentity: 'operator-elsewhere', leaseDurationSeconds: 3600, renewTime: microTime(new Date()) },
  });
}

function cnp(server: TestApiServer, ns: string, name: string): KubeObject {
  return server.get('cilium.io/v2', 'ciliumnetworkpolicies', ns, name) as KubeObject;
}

async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function kubeconfigAt(file: string, server: string, token = 'x'): string {
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: { token } }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'ctx',
    }),
  );
  return file;
}

/** The table without the `  fix:` line under each finding. */
const withoutFixes = (table: string): string => table.split('\n').filter((line) => !line.startsWith('  fix: ')).join('\n');

describe('status command (integration)', function () {
  this.timeout(60_000);

  describe('usage errors: one line, exit 2', () => {
    it('an unknown flag, a bad -o, a missing value', async () => {
      expectOneLineError(await status(['--frobnicate']), 2, /^netpol-profiles status: unknown flag --frobnicate \(see 'netpol-profiles status --help'\)$/m);
      expectOneLineError(await status(['-o', 'yaml']), 2, /--output must be table or json, not "yaml"/);
      expectOneLineError(await status(['-n']), 2, /flag --namespace needs a value/);
      expectOneLineError(await statusProcess(['--frobnicate']), 2, /unknown flag --frobnicate/);
    });

    it('a kubeconfig that does not exist, or no configuration at all', async () => {
      expectOneLineError(await status(['--kubeconfig', '/nonexistent/kubeconfig']), 2, /cannot load Kubernetes configuration from \/nonexistent\/kubeconfig: ENOENT/);
      expectOneLineError(await status([], { HOME: '/nonexistent' }), 2, /no Kubernetes configuration: pass --kubeconfig PATH, set KUBECONFIG, or create ~\/.kube\/config/);
    });

    it('--help lists the flags and exits 0', async () => {
      const run = await status(['--help']);
      expect(run.code).to.equal(0);
      for (const flag of ['--namespace NS', '--output table|json', '--kubeconfig PATH', '--context NAME', '--label-domain', '--protected-namespaces', '--operator-namespace']) {
        expect(run.stdout).to.contain(flag);
      }
    });
  });

  describe('connection and API errors: one line, exit 2', () => {
    let dir: string;
    before(() => (dir = mkdtempSync(path.join(tmpdir(), 'netpol-status-'))));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('an unreachable cluster (a closed port on 127.0.0.1), in-process and as a process', async () => {
      const port = await closedPort();
      const file = kubeconfigAt(path.join(dir, 'closed'), `http://127.0.0.1:${port}`);
      const pattern = new RegExp(`^netpol-profiles status: cannot reach the Kubernetes API at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`);
      expectOneLineError(await status(['--kubeconfig', file]), 2, pattern);
      expectOneLineError(await statusProcess(['--kubeconfig', file]), 2, pattern);
    });

    it("a cluster without netpol-profiles' CRDs", async () => {
      const bare = await TestApiServer.start({ crdFiles: ciliumCrdFiles() });
      try {
        expectOneLineError(
          await status(['--kubeconfig', bare.kubeconfigPath]),
          2,
          /^netpol-profiles status: the Kubernetes API at http:\/\/127\.0\.0\.1:\d+ does not serve a resource status needs \(are netpol-profiles' CRDs installed\?\): list (networkprofiles|sharedservices|networkbaselines): 404 NotFound/m,
        );
      } finally {
        await bare.stop();
      }
    });

    it('a context that is not in the kubeconfig', async () => {
      const file = kubeconfigAt(path.join(dir, 'ctx'), 'http://127.0.0.1:1');
      expectOneLineError(await status(['--kubeconfig', file, '--context', 'prod']), 2, /context "prod" is not in the Kubernetes configuration from .*ctx$/m);
    });
  });

  describe('against a cluster the operator converged', () => {
    let server: TestApiServer;
    let operator: RunningOperator | undefined;

    beforeEach(async () => {
      server = await startServerWithCatalog();
      server.apply(namespace('shop', SHOP));
      server.apply(namespace('batch', { [`${D}/profile`]: 'isolated' }));
      server.apply(namespace('database'));
      operator = await startOperator(server, { leaderElection: leaderElection('operator-0') });
      await expectConverged(server);
      await eventually(() => expect(server.get('coordination.k8s.io/v1', 'leases', OPERATOR_NS, 'netpol-profiles')?.spec).to.deep.include({ holderIdentity: 'operator-0' }));
    });
    afterEach(async () => {
      await operator?.stop();
      operator = undefined;
      await server.stop();
    });

    /** Stops the operator (it releases the lease) and puts a quiet leader in its place. */
    async function stopOperator(leader = true): Promise<void> {
      await operator!.stop();
      operator = undefined;
      if (leader) quietLeader(server);
    }

    it('everything in sync with a leading operator: exit 0, table and JSON, in-process and as a process', async () => {
      const table = await status(['--kubeconfig', server.kubeconfigPath]);
      expect(table.code, table.stdout + table.stderr).to.equal(0);
      expect(table.stderr).to.equal('');
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).to.match(/^operator: operator-0 is leading \(lease netpol-profiles\/netpol-profiles renewed \d+s ago, valid for 15s\)$/);
      expect(lines[1]).to.match(/^NAMESPACE +PROFILE +ACCESS +ENFORCEMENT +POLICIES +FINDINGS$/);
      expect(lines).to.include.members(['cluster-wide policies: 5 in sync', 'all in sync and enforced']);
      expect(lines.find((l) => l.startsWith('shop '))).to.match(/^shop +standard +postgres +enforced +2 in sync +-$/);
      expect(lines.find((l) => l.startsWith('kube-system '))).to.match(/^kube-system +\(protected\) +- +enforced +- +-$/);
      expect(lines.at(-1)).to.equal('all in sync and enforced');

      const json = await status(['--kubeconfig', server.kubeconfigPath, '-o', 'json']);
      expect(json.code).to.equal(0);
      const report = JSON.parse(json.stdout) as StatusReport;
      expect(report.findings).to.deep.equal([]);
      expect(report.operator).to.deep.include({ holder: 'operator-0', leading: true, leaseDurationSeconds: 15 });
      expect(report.namespaces.map((n) => n.name)).to.deep.equal(['batch', 'database', 'default', 'kube-node-lease', 'kube-public', 'kube-system', 'netpol-profiles', 'shop']);
      expect(report.namespaces.find((n) => n.name === 'shop')).to.deep.include({
        profile: { label: 'standard', state: 'valid' },
        access: ['postgres'],
        enforcement: { state: 'enforced', since: null, disabledForSeconds: null },
      });
      expect(report.counts.policies).to.deep.equal({ conflict: 0, missing: 0, drifted: 0, extra: 0, kept: 0, 'in-sync': 8 });

      const processRun = await statusProcess(['--kubeconfig', server.kubeconfigPath, '-o', 'json']);
      expect(processRun.code, processRun.stderr).to.equal(0);
      expect((JSON.parse(processRun.stdout) as StatusReport).counts.findings).to.equal(0);

    });

    it('KUBECONFIG and --context choose the connection as kubectl would', async () => {
      const port = await closedPort();
      const config = parse(readFileSync(server.kubeconfigPath, 'utf8')) as {
        clusters: unknown[];
        contexts: Array<{ name: string; context: Record<string, unknown> }>;
        'current-context': string;
      };
      const good = config['current-context'];
      config.clusters.push({ name: 'dead', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } });
      config.contexts.push({ name: 'dead', context: { ...config.contexts[0]!.context, cluster: 'dead' } });
      config['current-context'] = 'dead';
      const file = path.join(server.dir, 'two-contexts');
      writeFileSync(file, stringify(config));
      expectOneLineError(await status([], { KUBECONFIG: file }), 2, /cannot reach the Kubernetes API/);
      expect((await status(['--context', good], { KUBECONFIG: file })).code).to.equal(0);
      expect((await status([], { KUBECONFIG: file, NETPOL_PROFILES_CONTEXT: good })).code).to.equal(0);
    });

    it('missing: a generated CNP deleted while no operator runs', async () => {
      await stopOperator();
      server.delete('cilium.io/v2', 'ciliumnetworkpolicies', 'shop', 'access-postgres');
      const mark = server.requests.mark();
      const run = await status(['--kubeconfig', server.kubeconfigPath]);
      expect(run.code).to.equal(1);
      // Read-only, and it reads what docs/status.md says it reads.
      expect(server.requests.writes({ since: mark })).to.deep.equal([]);
      expect([...new Set(server.requests.query({ since: mark }).map((r) => `${r.verb} ${r.resource}`))].sort()).to.deep.equal([
        'get configmaps',
        'get leases',
        'list ciliumclusterwidenetworkpolicies',
        'list ciliumnetworkpolicies',
        'list namespaces',
        'list networkbaselines',
        'list networkprofiles',
        'list sharedservices',
      ]);
      const lines = run.stdout.trimEnd().split('\n');
      expect(lines.find((l) => l.startsWith('shop '))).to.match(/^shop +standard +postgres +enforced +1 missing, 1 in sync +1$/);
      expect(lines.slice(-3)).to.deep.equal([
        'shop: CiliumNetworkPolicy access-postgres is missing',
        '  fix: the operator creates it at its next reconcile; if it stays missing, see the runbook reconcile-failing.md (its log says "reconcile failed")',
        '1 finding',
      ]);
      expect(lines[0]).to.equal('operator: operator-elsewhere is leading (lease netpol-profiles/netpol-profiles renewed 0s ago, valid for 3600s)');
    });

    it('drifted: a generated CNP whose spec was edited', async () => {
      await stopOperator();
      const edited = cnp(server, 'shop', 'profile-standard');
      server.apply({ ...edited, spec: { ...(edited.spec as object), ingress: [{ fromEntities: ['world'] }] } });
      const run = await status(['--kubeconfig', server.kubeconfigPath, '-o', 'json']);
      expect(run.code).to.equal(1);
      const report = JSON.parse(run.stdout) as StatusReport;
      expect(report.findings).to.deep.equal([
        {
          namespace: 'shop',
          kind: 'drifted',
          object: 'CiliumNetworkPolicy/profile-standard',
          message: 'CiliumNetworkPolicy profile-standard has drifted (spec differs)',
          fix: 'the operator restores it at its next reconcile; edit the labels or the catalog in git instead of the object',
        },
      ]);
      expect(report.namespaces.find((n) => n.name === 'shop')!.policies.find((p) => p.name === 'profile-standard')).to.deep.include({ state: 'drifted', detail: 'spec differs' });
    });

    it('conflict: the name of a desired CNP held by an object without our managed-by label', async () => {
      await stopOperator();
      const generated = cnp(server, 'shop', 'access-postgres');
      server.delete('cilium.io/v2', 'ciliumnetworkpolicies', 'shop', 'access-postgres');
      server.apply({ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'access-postgres', namespace: 'shop', labels: { team: 'shop' } }, spec: generated.spec });
      const run = await status(['--kubeconfig', server.kubeconfigPath]);
      expect(run.code).to.equal(1);
      expect(run.stdout.trimEnd().split('\n').slice(-3)).to.deep.equal([
        'shop: CiliumNetworkPolicy access-postgres is held by an object without app.kubernetes.io/managed-by=netpol-profiles; the operator will not overwrite it',
        '  fix: find who made it (kubectl get cnp access-postgres -n shop -o yaml), then rename or delete it there (kubectl get events -n shop --field-selector reason=NameConflict; runbook name-conflict.md)',
        '1 finding',
      ]);
    });

    it('extra: a generated CNP no longer wanted (its access label removed)', async () => {
      await stopOperator();
      server.apply(namespace('shop', { [`${D}/profile`]: 'standard' }));
      const run = await status(['--kubeconfig', server.kubeconfigPath]);
      expect(run.code).to.equal(1);
      expect(run.stdout).to.match(/^shop +standard +- +enforced +1 extra, 1 in sync +1$/m);
      expect(withoutFixes(run.stdout)).to.contain('shop: CiliumNetworkPolicy access-postgres is no longer wanted; the operator will delete it\n1 finding\n');
    });

    it('an invalid profile label: the policy is kept, the label error is the finding', async () => {
      await stopOperator();
      server.apply(namespace('shop', { ...SHOP, [`${D}/profile`]: 'standrad' }));
      const run = await status(['--kubeconfig', server.kubeconfigPath]);
      expect(run.code).to.equal(1);
      expect(run.stdout).to.match(/^shop +standrad \(invalid\) +postgres +enforced +1 kept, 1 in sync +1$/m);
      expect(withoutFixes(run.stdout)).to.contain(
        `shop: UnknownProfile: ${D}/profile: NetworkProfile "standrad" does not exist; policies already applied are kept\n1 finding\n`,
      );
      const json = JSON.parse((await status(['--kubeconfig', server.kubeconfigPath, '-o', 'json'])).stdout) as StatusReport;
      const shop = json.namespaces.find((n) => n.name === 'shop')!;
      expect(shop.policies.find((p) => p.name === 'profile-standard')!.state).to.equal('kept');
      expect(shop.labelErrors.map((e) => e.reason)).to.deep.equal(['UnknownProfile']);
    });

    it('the escape hatch: since when, from the operator\'s record, and "not recorded" without one', async () => {
      server.apply(namespace('batch', { [`${D}/profile`]: 'isolated', [`${D}/enforcement`]: 'disabled' }));
      let since = '';
      await eventually(() => {
        const record = server.get('v1', 'configmaps', OPERATOR_NS, 'netpol-profiles-state') as { data?: Record<string, string> } | undefined;
        since = record?.data?.['disabled-since.batch'] ?? '';
        expect(since).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      });
      await stopOperator();
      server.apply(namespace('database', { [`${D}/enforcement`]: 'disabled' }));
      const run = await status(['--kubeconfig', server.kubeconfigPath]);
      expect(run.code).to.equal(1);
      expect(run.stdout).to.match(/^batch +isolated +- +disabled \d+s +1 in sync +1$/m);
      expect(run.stdout).to.match(/^database +- +- +disabled \(not recorded\) +- +1$/m);
      expect(run.stdout).to.contain(`batch: enforcement disabled since ${since} (`);
      expect(run.stdout).to.contain(`database: enforcement disabled (${D}/enforcement=disabled); since when is not recorded: no operator has seen it yet\n`);
      const report = JSON.parse((await status(['--kubeconfig', server.kubeconfigPath, '-o', 'json'])).stdout) as StatusReport;
      expect(report.namespaces.find((n) => n.name === 'batch')!.enforcement).to.deep.include({ state: 'disabled', since });
      expect(report.findings.map((f) => [f.namespace, f.kind])).to.deep.equal([
        ['batch', 'enforcement-disabled'],
        ['database', 'enforcement-disabled'],
      ]);
    });

    it('a foreign allow-all CNP widens the profile; a deny-only one does not', async () => {
      await stopOperator();
      server.apply({
        apiVersion: 'cilium.io/v2',
        kind: 'CiliumNetworkPolicy',
        metadata: { name: 'deny-world', namespace: 'shop' },
        spec: { endpointSelector: {}, ingressDeny: [{ fromEntities: ['world'] }], egressDeny: [{ toEntities: ['world'] }] },
      });
      const denyOnly = await status(['--kubeconfig', server.kubeconfigPath]);
      expect(denyOnly.code, denyOnly.stdout).to.equal(0);
      expect(denyOnly.stdout).to.match(/^shop +standard +postgres +enforced +2 in sync, 1 foreign +-$/m);

      server.apply({
        apiVersion: 'cilium.io/v2',
        kind: 'CiliumNetworkPolicy',
        metadata: { name: 'allow-all', namespace: 'shop' },
        spec: { endpointSelector: {}, ingress: [{ fromEntities: ['all'] }], egress: [{}] },
      });
      const run = await status(['--kubeconfig', server.kubeconfigPath]);
      expect(run.code).to.equal(1);
      expect(withoutFixes(run.stdout)).to.contain('shop: foreign CiliumNetworkPolicy allow-all widens the profile: 1 ingress and 0 egress rules\n1 finding\n');
      const report = JSON.parse((await status(['--kubeconfig', server.kubeconfigPath, '-o', 'json'])).stdout) as StatusReport;
      expect(report.namespaces.find((n) => n.name === 'shop')!.foreignPolicies).to.deep.equal([
        { name: 'allow-all', checked: true, wideningIngressRules: 1, wideningEgressRules: 0 },
        { name: 'deny-world', checked: true, wideningIngressRules: 0, wideningEgressRules: 0 },
      ]);
    });

    it('a catalog problem (a misspelt rule field the API server keeps and the operator refuses)', async () => {
      await stopOperator();
      server.apply({ apiVersion: `${D}/v1alpha1`, kind: 'NetworkProfile', metadata: { name: 'broken' }, spec: { description: 'typo', egress: [{ toEntitie: ['world'] }] } });
      const run = await status(['--kubeconfig', server.kubeconfigPath, '-o', 'json']);
      expect(run.code).to.equal(1);
      const report = JSON.parse(run.stdout) as StatusReport;
      expect(report.findings.length).to.be.greaterThan(0);
      expect(report.findings.every((f) => f.kind === 'catalog-problem' && f.object === 'NetworkProfile/broken' && f.message.startsWith('NetworkProfile/broken: '))).to.equal(true);
      expect(report.cluster.catalogProblems.map((p) => p.object)).to.include('NetworkProfile/broken');
      // Nobody uses it: -n shop is not concerned.
      expect((await status(['--kubeconfig', server.kubeconfigPath, '-n', 'shop'])).code).to.equal(0);
    });

    it('no leader: the lease released by a stopped operator, or deleted', async () => {
      await stopOperator(false);
      let run = await status(['--kubeconfig', server.kubeconfigPath]);
      expect(run.code).to.equal(1);
      expect(run.stdout.split('\n')[0]).to.equal('operator: no leader (lease netpol-profiles/netpol-profiles has no holder)');
      expect(withoutFixes(run.stdout)).to.contain('cluster: no operator is leading: Lease netpol-profiles/netpol-profiles has no holder (the last leader released it)\n1 finding\n');
      server.delete('coordination.k8s.io/v1', 'leases', OPERATOR_NS, 'netpol-profiles');
      run = await status(['--kubeconfig', server.kubeconfigPath, '-o', 'json']);
      expect(run.code).to.equal(1);
      expect((JSON.parse(run.stdout) as StatusReport).findings).to.deep.equal([
        {
          kind: 'no-leader',
          message: 'no operator is leading: Lease netpol-profiles/netpol-profiles does not exist (is the operator installed, in namespace netpol-profiles, with leader election on?)',
          fix: 'check the operator: kubectl -n netpol-profiles get pods,lease (runbook operator-down.md)',
        },
      ]);
    });

    it('-n: one namespace and what reaches it; a namespace that does not exist is an error', async () => {
      await stopOperator();
      server.delete('cilium.io/v2', 'ciliumnetworkpolicies', 'batch', 'profile-isolated');
      const shop = await status(['--kubeconfig', server.kubeconfigPath, '-n', 'shop']);
      expect(shop.code, shop.stdout).to.equal(0);
      const rows = shop.stdout.split('\n').filter((l) => /^[a-z]/.test(l) && !l.startsWith('operator:') && !l.startsWith('cluster-wide') && !l.startsWith('all '));
      expect(rows.map((l) => l.split(' ')[0])).to.deep.equal(['shop']);

      const batch = await status(['--kubeconfig', server.kubeconfigPath, '--namespace', 'batch', '-o', 'json']);
      expect(batch.code).to.equal(1);
      const report = JSON.parse(batch.stdout) as StatusReport;
      expect(report.namespaceFilter).to.equal('batch');
      expect(report.namespaces.map((n) => n.name)).to.deep.equal(['batch']);
      expect(report.findings.map((f) => f.message)).to.deep.equal(['CiliumNetworkPolicy profile-isolated is missing']);

      // Cluster-wide policies reach every namespace.
      server.delete('cilium.io/v2', 'ciliumclusterwidenetworkpolicies', undefined, 'escape-hatch-allow-all');
      const again = await status(['--kubeconfig', server.kubeconfigPath, '-n', 'shop']);
      expect(again.code).to.equal(1);
      expect(withoutFixes(again.stdout)).to.contain('cluster: CiliumClusterwideNetworkPolicy escape-hatch-allow-all is missing\n1 finding\n');

      expectOneLineError(await status(['--kubeconfig', server.kubeconfigPath, '-n', 'nope']), 2, /^netpol-profiles status: namespace "nope" does not exist$/m);
    });

    it('as a kubectl plugin: kubectl netpol-profiles status runs kubectl-netpol_profiles from PATH', async () => {
      await stopOperator();
      const bin = mkdtempSync(path.join(tmpdir(), 'netpol-plugin-'));
      try {
        symlinkSync(CLI, path.join(bin, 'kubectl-netpol_profiles'));
        const env = { PATH: [bin, path.dirname(process.execPath), process.env.PATH ?? ''].join(path.delimiter), HOME: bin };
        const ok = await runProgram('/usr/bin/kubectl', ['netpol-profiles', 'status', '--kubeconfig', server.kubeconfigPath, '-o', 'json'], env);
        expect(ok.code, ok.stderr).to.equal(0);
        const report = JSON.parse(ok.stdout) as StatusReport;
        expect(report.findings).to.deep.equal([]);
        expect(report.operator.holder).to.equal('operator-elsewhere');
        expect(report.namespaces.map((n) => n.name)).to.include('shop');

        server.delete('cilium.io/v2', 'ciliumnetworkpolicies', 'shop', 'access-postgres');
        const found = await runProgram('/usr/bin/kubectl', ['netpol-profiles', 'status', '--kubeconfig', server.kubeconfigPath, '-n', 'shop'], env);
        expect(found.code, found.stderr).to.equal(1);
        expect(found.stdout).to.contain('shop: CiliumNetworkPolicy access-postgres is missing\n');

        const bad = await runProgram('/usr/bin/kubectl', ['netpol-profiles', 'status', '-o', 'yaml'], env);
        expect(bad.code).to.equal(2);
        expect(bad.stderr.trimEnd().split('\n')).to.have.length(1);
      } finally {
        rmSync(bin, { recursive: true, force: true });
      }
    });
  });

  describe('with RBAC enforced', () => {
    let server: TestApiServer;
    before(async () => {
      server = await startServerWithCatalog({ rbac: true });
      server.apply(namespace('shop', SHOP));
      const operator = await startOperator(server, { leaderElection: leaderElection('operator-0') });
      await expectConverged(server);
      await operator.stop();
      quietLeader(server);
    });
    after(() => server.stop());

    it('a user without read access: 403 in one line, exit 2', async () => {
      const kubeconfig = server.kubeconfigFor({ name: 'bob', groups: ['system:authenticated'] });
      expectOneLineError(
        await status(['--kubeconfig', kubeconfig]),
        2,
        /^netpol-profiles status: the Kubernetes API at http:\/\/127\.0\.0\.1:\d+ denied access: list .*403 Forbidden: .*User "bob" cannot list resource .*see docs\/status\.md\)$/m,
      );
    });

    it('a token the server does not know: 401 in one line, exit 2', async () => {
      const file = kubeconfigAt(path.join(server.dir, 'bad-token'), server.url, 'not-a-token');
      expectOneLineError(await status(['--kubeconfig', file]), 2, /did not accept the credentials: .*401 Unauthorized/);
    });

    it('a user bound to the RBAC in docs/status.md can run it', async () => {
      const markdown = readFileSync(projectPath('docs/status.md'), 'utf8');
      const block = /```yaml\n(# status-rbac[\s\S]*?)```/.exec(markdown)?.[1];
      expect(block, 'the status-rbac block in docs/status.md').to.be.a('string');
      for (const document of parseAllDocuments(block!)) server.apply(document.toJS() as KubeObject);
      const subject = [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'carol' }];
      server.apply({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'netpol-profiles-status-carol' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'netpol-profiles-status' },
        subjects: subject,
      });
      server.apply({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'netpol-profiles-status-carol', namespace: OPERATOR_NS },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'netpol-profiles-status' },
        subjects: subject,
      });
      const run = await status(['--kubeconfig', server.kubeconfigFor({ name: 'carol', groups: ['system:authenticated'] })]);
      expect(run.stderr).to.equal('');
      expect(run.code, run.stdout).to.equal(0);
      expect(run.stdout).to.contain('all in sync and enforced');
    });
  });
});
