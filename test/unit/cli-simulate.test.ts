// `netpol-profiles simulate` offline, as a user runs it: the CLI's main() with the example files
// (and the built CLI as a process once), exit codes, the table and the JSON of the issue, --flows
// as a CI gate, --matrix and --before, and one clear line (never a stack trace) for every bad input.
import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { main } from '../../src/cli/app.js';
import { cli, expectNoStackTrace, type Run, scratchDirectory } from '../support/cli.js';
import { spawn } from 'node:child_process';
import { CLI, DEFAULT_CATALOG_DIR, EXAMPLE_NAMESPACES, PROJECT_ROOT, projectPath } from '../support/project.js';

const D = 'network-policy.homelab';
const BASE = ['simulate', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', EXAMPLE_NAMESPACES];
const EXAMPLES = [...BASE, '--policies', projectPath('examples/policies.yaml'), '--pods', projectPath('examples/pods.yaml')];

interface FlowJson {
  from: string;
  to: string;
  port: string;
  verdict: string;
  expect?: string;
  egress: { enforced: boolean; verdict: string; l7?: string[]; reasons: Array<Record<string, unknown>> };
  ingress: { enforced: boolean; verdict: string; reasons: Array<Record<string, unknown>> };
}

/** In-process: the same main() the binary runs, without a process start per case. */
async function invoke(args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), readStdin: () => '', env: {} });
  return { code, stdout, stderr };
}

const json = (run: Run) => JSON.parse(run.stdout) as { flows: FlowJson[] };

/** A usage or input error: exit 2, nothing on stdout, one line (or one per input problem), no stack trace. */
function expectInputError(run: Run, pattern: RegExp, lines = 1): void {
  expect(run.code, run.stderr).to.equal(2);
  expect(run.stdout).to.equal('');
  expect(run.stderr.trimEnd().split('\n'), run.stderr).to.have.length(lines);
  expect(run.stderr).to.match(pattern);
  expectNoStackTrace(run);
}

describe('simulate command (offline)', () => {
  const scratch = scratchDirectory('netpol-simulate-');
  const file = scratch.file;

  it('one flow: allowed, exit 0, the table names the allowing rule on each side', async () => {
    const run = await invoke([...BASE, 'shop', 'database/app=postgres', '5432']);
    expect(run.code, run.stderr).to.equal(0);
    const [header, row, summary] = run.stdout.trimEnd().split('\n');
    expect(header).to.match(/^FROM +TO +PORT +VERDICT +EGRESS +INGRESS$/);
    expect(row).to.match(/^shop +database\/app=postgres +5432\/TCP +allowed +allow CNP shop\/access-postgres egress\[0\] +not enforced$/);
    expect(summary).to.equal('1 flow: 1 allowed, 0 denied');
  });

  it('one flow: denied, exit 1, the reason is the policy that put the direction in default-deny', async () => {
    const run = await invoke([...BASE, 'grafana', 'api.github.com', '443']);
    expect(run.code, run.stderr).to.equal(1);
    expect(run.stdout).to.match(/^grafana +api\.github\.com +443\/TCP +denied +default-deny \(CNP grafana\/profile-internal\) \+1 +- \(not an endpoint\)$/m);
  });

  it('-o json follows the issue: flows with from, to, port, verdict and both sides with enforced, verdict and reasons', async () => {
    const run = await invoke([...BASE, 'shop', 'kube-system/k8s-app=kube-dns', '53/UDP', '-o', 'json']);
    expect(run.code, run.stderr).to.equal(0);
    const [flow] = json(run).flows;
    expect(flow).to.deep.include({ from: 'shop', to: 'kube-system/k8s-app=kube-dns', port: '53/UDP', verdict: 'allowed' });
    expect(flow!.egress).to.deep.equal({
      enforced: true,
      verdict: 'allowed',
      l7: ['dns'],
      reasons: [{ type: 'allow', policy: 'CiliumClusterwideNetworkPolicy baseline-dns', rule: 'egress[0]', l7: ['dns'] }],
    });
    expect(flow!.ingress).to.deep.include({ enforced: false, verdict: 'allowed' });
  });

  it('endpoints: reserved identities, IP addresses, DNS names, labels and --pods workloads with their named ports', async () => {
    expect((await invoke([...BASE, 'argo-workflows', 'reserved:kube-apiserver', '6443'])).code).to.equal(0);
    expect((await invoke([...BASE, 'legacy-crm', '203.0.113.10', '25'])).code).to.equal(0);
    expect((await invoke([...BASE, 'reports', '2001:db8::1', '443'])).code).to.equal(1);
    const named = await invoke([...EXAMPLES, 'istio-gateway/external', 'shop/web', 'http', '-o', 'json']);
    expect(named.code, named.stderr).to.equal(0);
    expect(json(named).flows[0]).to.deep.include({ port: '8080/TCP', verdict: 'allowed' });
  });

  it('a namespace the inputs do not have is simulated as unlabelled, with a warning', async () => {
    const run = await invoke([...BASE, 'shop', 'nowhere', '8080']);
    expect(run.stderr).to.contain('simulate: warning: namespace "nowhere" is not among the inputs; simulated as a namespace with no labels');
  });

  describe('--flows: connectivity tests a GitOps repository keeps (a CI gate)', () => {
    it('the example flows all hold: exit 0 (the built CLI, as a process)', async () => {
      const run = cli([...EXAMPLES, '--flows', projectPath('examples/flows.yaml')]);
      expect(run.code, run.stdout + run.stderr).to.equal(0);
      expect(run.stdout).to.match(/^16 flows: 12 allowed, 4 denied; all 16 expectations held$/m);
    });

    it('an expectation that fails makes exit 1 and is marked FAILED; a denied flow expected denied is fine', async () => {
      const flows = file(
        'flows.yaml',
        ['flows:', '  - {from: reports, to: api.stripe.com, port: 443, expect: allowed}', '  - {from: grafana, to: api.github.com, port: 443, expect: denied}', ''].join('\n'),
      );
      const run = await invoke([...BASE, '--flows', flows]);
      expect(run.code).to.equal(1);
      expect(run.stdout).to.match(/^reports +api\.stripe\.com +443\/TCP +denied +allowed FAILED/m);
      expect(run.stdout).to.match(/^grafana +api\.github\.com +443\/TCP +denied +denied ok/m);
      expect(run.stdout).to.contain('1 of 2 expectations failed');
    });

    it('a change that breaks a flow fails the gate: the label change that revokes postgres access', async () => {
      const flows = file('flows.yaml', 'flows:\n  - {from: shop, to: database/app=postgres, port: 5432, expect: allowed}\n');
      const namespaces = file('ns.yaml', `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels: {${D}/profile: standard}\n`);
      expect((await invoke([...BASE, '--flows', flows])).code).to.equal(0);
      const broken = await invoke(['simulate', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', namespaces, '--flows', flows]);
      expect(broken.code).to.equal(1);
      expect(broken.stdout).to.contain('default-deny (CNP shop/profile-standard)');
    });

    it('a malformed flows file: one line naming the file and the flow, exit 2', async () => {
      expectInputError(await invoke([...BASE, '--flows', file('a.yaml', 'flows:\n  - {from: shop, to: db, port: 99999}\n')]), /a\.yaml: flows\[0\]: "99999": port must be 1-65535/);
      expectInputError(await invoke([...BASE, '--flows', file('b.yaml', 'flows:\n  - {from: shop, port: 80}\n')]), /b\.yaml: flows\[0\]: from and to are required strings/);
      expectInputError(await invoke([...BASE, '--flows', file('c.yaml', 'flows:\n  - {from: shop, to: db, expect: maybe}\n')]), /c\.yaml: flows\[0\]: expect must be allowed or denied, not "maybe"/);
      expectInputError(await invoke([...BASE, '--flows', file('d.yaml', 'flows: [\n')]), /d\.yaml: YAML syntax error at line \d+, column \d+/);
      expectInputError(await invoke([...BASE, '--flows', file('e.yaml', 'flows:\n  - {from: shop, to: db, prot: 80}\n')]), /unknown field "prot"/);
      expectInputError(await invoke([...BASE, '--flows', path.join(scratch.dir, 'missing.yaml')]), /missing\.yaml: cannot read: no such file or directory/);
    });
  });

  describe('--matrix', () => {
    it('every namespace against every namespace, the internet, the API server, DNS and each SharedService, once each', async () => {
      const run = await invoke([...BASE, '--matrix']);
      expect(run.code).to.equal(1); // some cells are denied
      const lines = run.stdout.trimEnd().split('\n');
      expect(lines[0]).to.match(/^FROM +TO +PORT +VERDICT$/);
      const shopRows = lines.filter((line) => line.startsWith('shop '));
      const targets = shopRows.map((line) => line.split(/ +/).slice(1, 3).join(' '));
      expect(new Set(targets).size).to.equal(targets.length);
      expect(targets).to.include.members([
        'shop 8080/TCP',
        'reserved:world 443/TCP',
        'reserved:world 80/TCP',
        'reserved:kube-apiserver 443/TCP',
        'reserved:kube-apiserver 6443/TCP',
        'kube-system/k8s-app=kube-dns 53/UDP',
        'database/app=postgres 5432/TCP',
        'cache/app=dragonfly 6379/TCP',
        'garage/app=garage 3900/TCP',
      ]);
      expect(shopRows.find((line) => line.includes('database/app=postgres'))).to.match(/allowed$/);
      expect(shopRows.find((line) => line.includes('garage/app=garage'))).to.match(/denied$/);
      expect(lines.at(-1)).to.match(/^\d+ cells: \d+ allowed, \d+ denied$/);
    });

    it('--before prints only the cells a change makes differ, with the reasons after; exit 1, or 0 with no change', async () => {
      const fixed = file('after.yaml', `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: blog\n  labels: {${D}/profile: standard}\n`);
      const before = file('before.yaml', `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: blog\n  labels: {${D}/profile: standrad}\n`);
      const run = await invoke(['simulate', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', fixed, '--matrix', '--before', before]);
      expect(run.code).to.equal(1);
      const lines = run.stdout.trimEnd().split('\n');
      expect(lines[0]).to.match(/^FROM +TO +PORT +BEFORE +AFTER +WHY \(AFTER\)$/);
      expect(lines.some((line) => /^blog +reserved:world +80\/TCP +allowed +denied +egress: default-deny \(CNP blog\/profile-standard\)/.test(line))).to.equal(true);
      expect(lines.some((line) => /^blog +reserved:world +443\/TCP/.test(line))).to.equal(false); // HTTPS stays allowed
      expect(lines.at(-1)).to.match(/^\d+ cells? change: 0 newly allowed, \d+ no longer allowed, 0 other$/);

      const unchanged = await invoke([...BASE, '--matrix', '--before', EXAMPLE_NAMESPACES]);
      expect(unchanged.code).to.equal(0);
      expect(unchanged.stdout).to.equal('no cell changes\n');
    });

    it('-o json: cells with verdicts and a summary; with --before, changes with both sides\' reasons', async () => {
      const run = await invoke([...BASE, '--matrix', '-o', 'json']);
      const parsed = JSON.parse(run.stdout) as { cells: Array<{ from: string; to: string; port: string; verdict: string }>; summary: Record<string, number> };
      expect(parsed.cells.length).to.equal(parsed.summary.cells);
      expect(parsed.cells.find((c) => c.from === 'shop' && c.to === 'database/app=postgres')).to.deep.equal({
        from: 'shop',
        to: 'database/app=postgres',
        port: '5432/TCP',
        verdict: 'allowed',
      });
      const before = file('before.yaml', `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels: {${D}/profile: standard}\n`);
      const after = file('after.yaml', `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels: {${D}/profile: standard, access.${D}/postgres: "true"}\n`);
      const diff = await invoke(['simulate', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', after, '--matrix', '--before', before, '-o', 'json']);
      const changes = (JSON.parse(diff.stdout) as { changes: Array<Record<string, unknown>> }).changes;
      expect(changes).to.have.length(1);
      expect(changes[0]).to.deep.include({ from: 'shop', to: 'database/app=postgres', port: '5432/TCP', before: 'denied', after: 'allowed' });
      expect((changes[0]!.egress as { reasons: unknown[] }).reasons).to.deep.equal([{ type: 'allow', policy: 'CiliumNetworkPolicy shop/access-postgres', rule: 'egress[0]' }]);
    });
  });

  describe('policies besides ours (--policies)', () => {
    it("a namespace's own NetworkPolicy can refuse what our policies allow: the reason names it", async () => {
      const run = await invoke([...EXAMPLES, 'grafana', 'database/postgres', '9187', '-o', 'json']);
      const [flow] = json(run).flows;
      expect(flow!.egress.verdict).to.equal('denied');
      const peer = await invoke([...EXAMPLES, 'tools', 'database/postgres', '5432', '-o', 'json']);
      expect(json(peer).flows[0]!.ingress.reasons).to.deep.equal([
        { type: 'default-deny', policy: 'NetworkPolicy database/postgres', detail: 'policyTypes: [Ingress]' },
      ]);
    });

    it('a foreign object squatting a generated name is what is enforced (the operator never overwrites it)', async () => {
      const squat = file(
        'squat.yaml',
        `apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: profile-standard, namespace: shop}\nspec:\n  endpointSelector: {}\n  egress: [{toEntities: [all]}]\n`,
      );
      const run = await invoke([...BASE, '--policies', squat, 'shop', '198.51.100.7', '22', '-o', 'json']);
      expect(json(run).flows[0]!.egress.reasons).to.deep.equal([{ type: 'allow', policy: 'CiliumNetworkPolicy shop/profile-standard', rule: 'egress[0]' }]);
      expect(run.code).to.equal(0);
    });

    it('policy files with the wrong kind, no namespace or a rule Cilium would refuse: every problem, exit 2, nothing simulated', async () => {
      const bad = file(
        'bad.yaml',
        [
          'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: a}\n',
          'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: nons}\nspec: {endpointSelector: {}, ingress: [{}]}\n',
          'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: typo, namespace: a}\nspec: {endpointSelector: {}, egress: [{toEntitie: [world]}]}\n',
          'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np, namespace: a}\nspec: {ingress: [{from: [{}]}]}\n',
        ].join('---\n'),
      );
      const run = await invoke([...BASE, '--policies', bad, 'shop', 'database', '80']);
      expect(run.code).to.equal(2);
      expect(run.stdout).to.equal('');
      expectNoStackTrace(run);
      expect(run.stderr).to.contain('bad.yaml: ConfigMap/x: is a ConfigMap; expected a CiliumNetworkPolicy, a CiliumClusterwideNetworkPolicy, a NetworkPolicy');
      expect(run.stderr).to.contain('bad.yaml: CiliumNetworkPolicy/nons: needs metadata.namespace');
      expect(run.stderr).to.match(/bad\.yaml: CiliumNetworkPolicy\/typo: spec\.egress\[0\]\.toEntitie/);
      expect(run.stderr).to.contain('bad.yaml: NetworkPolicy/np: spec.podSelector is required');
      expect(run.stderr).to.match(/simulate: \d+ input problems; nothing simulated\n$/);
    });
  });

  it('a reader that stops early (| head) ends the command quietly, without a stack trace', async () => {
    // Enough namespaces that the matrix (megabytes) is still being written when the reader goes.
    const many = file('many.yaml', Array.from({ length: 300 }, (_, i) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: team-${i}}\n`).join('---\n'));
    const child = spawn(process.execPath, [CLI, 'simulate', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', many, '--matrix'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.to.match(/EPIPE|\n\s+at .+:\d+:\d+/);
    expect(stderr.split('\n').filter((line) => line !== '' && !line.startsWith('simulate: note: '))).to.deep.equal([]);
    expect(code).to.be.oneOf([0, 1]);
  });

  it('a policy defined twice across the files is an input problem', async () => {
    const policy = 'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: shop}\nspec: {endpointSelector: {}, ingress: [{}]}\n';
    const run = await invoke([...BASE, '--policies', file('a.yaml', policy), '--policies', file('b.yaml', policy), 'shop', 'grafana', '80']);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.match(/b\.yaml: CiliumNetworkPolicy\/p: is defined twice \(also in .*a\.yaml\)/);
  });

  describe('usage and input errors: exit 2, one line', () => {
    it('modes and flags', async () => {
      expectInputError(cli(BASE), /give one of: FROM TO \[PORT\], --flows FILE, or --matrix/);
      expectInputError(await invoke([...BASE, 'shop']), /expected FROM TO \[PORT\[\/PROTO\]\], got 1 argument/);
      expectInputError(await invoke([...BASE, 'a', 'b', '80', 'x']), /got 4 arguments/);
      expectInputError(await invoke([...BASE, 'a', 'b', '--matrix']), /give one of/);
      expectInputError(await invoke([...BASE, 'a', 'b', '--before', EXAMPLE_NAMESPACES]), /--before needs --matrix/);
      expectInputError(await invoke(['simulate', '--namespaces', EXAMPLE_NAMESPACES, 'a', 'b']), /offline, simulate needs --catalog PATH and --namespaces PATH/);
      expectInputError(await invoke([...BASE, 'a', 'b', '-o', 'yaml']), /--output must be table or json, not "yaml"/);
      expectInputError(await invoke([...BASE, '--matrix', '--matrix-port', 'http']), /--matrix-port: "http": a named port needs/);
    });

    it('endpoints and ports', async () => {
      expectInputError(await invoke([...BASE, 'shop', 'reserved:moon', '80']), /"reserved:moon": unknown reserved identity/);
      expectInputError(await invoke([...BASE, 'Shop!', 'db', '80']), /"Shop!" is not an endpoint/);
      expectInputError(await invoke([...BASE, 'shop', 'database/app', '80']), /no Pod or workload "app" in namespace database among --pods/);
      expectInputError(await invoke([...BASE, 'shop', 'database/app=x=y', '80']), /"app=x=y" is not a label/);
      expectInputError(await invoke([...BASE, 'shop', 'database', '0']), /"0": port must be 1-65535/);
      expectInputError(await invoke([...BASE, 'shop', 'database', '80/icmp']), /protocol must be TCP, UDP, SCTP/);
      expectInputError(await invoke([...BASE, 'shop', 'database', 'http']), /a named port needs a destination pod from --pods that declares it/);
    });

    it('input files: every problem of every file, then exit 2', async () => {
      const catalog = file('catalog.yaml', `apiVersion: ${D}/v1alpha1\nkind: NetworkBaseline\nmetadata: {name: empty}\nspec: {endpointSelector: {}, ingress: []}\n`);
      const run = await invoke(['simulate', '--catalog', catalog, '--namespaces', EXAMPLE_NAMESPACES, 'shop', 'database', '80']);
      expect(run.code).to.equal(2);
      expect(run.stderr).to.contain('NetworkBaseline/empty: spec.ingress is an empty list');
      expectNoStackTrace(run);
    });

    it('reads folders per team with -R and a whole app folder with --skip-other-kinds, as render does; diagnose too', async () => {
      mkdirSync(path.join(scratch.dir, 'team-shop'));
      mkdirSync(path.join(scratch.dir, 'team-db'));
      writeFileSync(path.join(scratch.dir, 'team-shop', 'ns.yaml'), `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels: {${D}/profile: standard, access.${D}/postgres: "true"}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n`);
      writeFileSync(path.join(scratch.dir, 'team-db', 'ns.yaml'), `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: database\n`);
      const flow = ['shop', 'database/app=postgres', '5432'];
      const notRecursive = await invoke(['simulate', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', scratch.dir, ...flow]);
      expectInputError(notRecursive, /subdirectories team-db, team-shop hold YAML or JSON files that were not read; give -R/, 2);
      const otherKinds = await invoke(['simulate', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', scratch.dir, '-R', ...flow]);
      expect(otherKinds.code).to.equal(2);
      expect(otherKinds.stderr).to.contain('Deployment/web: is a Deployment');
      const run = await invoke(['simulate', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', scratch.dir, '-R', '--skip-other-kinds', ...flow]);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stderr).to.equal('simulate: skipped 1 object of other kinds: Deployment 1\n');
      const diagnose = await invoke(['diagnose', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', scratch.dir, '--recursive', '--skip-other-kinds', projectPath('examples/hubble-flows.jsonl')]);
      expect(diagnose.stderr).to.contain('diagnose: skipped 1 object of other kinds: Deployment 1');
      expect(diagnose.code, diagnose.stderr).to.be.oneOf([0, 1]);
    });
  });
});
