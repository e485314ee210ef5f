// Every command in docs/runbooks/ and docs/status.md, run as on-call would run it at 3 a.m. — the
// real kubectl and the real CLI against the test API server with the install applied (RBAC on),
// two operator replicas started from the Deployment's own arguments as its ServiceAccount — and
// checked to show what the text says it shows. Commands in `sh` blocks and inline commands of three
// words or more are run; a command the docs gain without a check here fails the test, and so does a
// check whose command the docs lost.
//
// Three things cannot exist here and are stood in for, each said where it happens:
// - `kubectl logs`: the test API server runs no pods, so the command reads the operator replica's
//   real log file instead (the same JSON lines the pod prints); the rest of the pipeline is kept.
// - `hubble observe`: no Cilium, so a `hubble` on PATH prints the project's sample flows
//   (examples/hubble-flows.jsonl), which `diagnose` then reads from the live cluster's state.
// - `npm ci && npm run build` (docs/status.md): that is what CI itself runs on a fresh clone
//   (.ci/run), checked below rather than run inside the test.
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import type { TestApiServer } from '../support/apiserver/server.js';
import { TestApiServer as Server } from '../support/apiserver/server.js';
import { serviceAccountUser } from '../support/apiserver/rbac.js';
import { D, eventually, namespace } from '../support/operator-harness.js';
import { CILIUM_CRD_DIR, CLI, EXAMPLE_NAMESPACES, PROJECT_ROOT } from '../support/project.js';

const DOCS = [
  'docs/runbooks/README.md',
  'docs/runbooks/invalid-labels.md',
  'docs/runbooks/escape-hatch.md',
  'docs/runbooks/catalog-invalid.md',
  'docs/runbooks/reconcile-failing.md',
  // After reconcile-failing (whose annotate would trigger a reconcile of shop): nothing touches shop
  // after its foreign object is deleted, so the last test sees the 60 s recheck itself.
  'docs/runbooks/name-conflict.md',
  'docs/runbooks/operator-down.md',
  'docs/status.md',
];

/** Every command of a document: lines of `sh` blocks (continuations joined, comments dropped) and inline commands. */
export function documentedCommands(markdown: string): string[] {
  const commands: string[] = [];
  for (const block of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    let current = '';
    for (const raw of block[1]!.split('\n')) {
      const line = raw.trim();
      current = current === '' ? line : `${current} ${line}`;
      if (current.endsWith('\\')) {
        current = current.slice(0, -1).trimEnd();
        continue;
      }
      const command = withoutComment(current);
      if (command !== '') commands.push(command);
      current = '';
    }
  }
  const prose = markdown.replace(/```[\s\S]*?```/g, '');
  for (const match of prose.matchAll(/`((?:kubectl|netpol-profiles|hubble) [^`]+)`/g)) {
    const command = match[1]!.replace(/\s+/g, ' ').trim();
    // Two words name a command (`kubectl label`); three or more are a command someone would run.
    if (command.split(' ').length >= 3 && !commands.includes(command)) commands.push(command);
  }
  return commands;
}

/** `cmd  # comment` → `cmd`; a `#` inside quotes stays. */
function withoutComment(line: string): string {
  if (line.startsWith('#')) return '';
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#' && /\s/.test(line[i - 1] ?? ' ')) {
      return line.slice(0, i).trim();
    }
  }
  return line.trim();
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Check {
  /** Run before the command (setting the scene it is about). */
  before?: () => unknown;
  /** The command line actually run, when it differs (placeholders, stand-ins). */
  run?: (command: string) => string;
  env?: () => NodeJS.ProcessEnv;
  check: (result: Result) => unknown;
  /** Not run: `why` says what runs it instead (checked by `check` on an empty result). */
  notRun?: string;
}

function runShell(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface Replica {
  name: string;
  child: ChildProcess;
  log: string;
  exited: Promise<number | null>;
}

describe('runbooks and docs/status.md: every command runs and shows what the text says', function () {
  this.timeout(300_000);
  let server: TestApiServer;
  let work: string;
  let repo: string;
  let home: string;
  let bin: string;
  const replicas: Replica[] = [];

  const baseEnv = (): NodeJS.ProcessEnv => ({ PATH: `${bin}:${path.join(home, '.local', 'bin')}:${process.env.PATH ?? ''}`, HOME: home });
  const leader = (): Replica => {
    const lease = server.get('coordination.k8s.io/v1', 'leases', 'netpol-profiles', 'netpol-profiles') as { spec?: { holderIdentity?: string } } | undefined;
    const found = replicas.find((replica) => replica.name === lease?.spec?.holderIdentity);
    expect(found, 'a replica leads').to.not.equal(undefined);
    return found!;
  };
  /** `kubectl ... logs <target> [flags]` → the leader replica's real log (no pods run here). */
  const logsFromFile = (command: string): string => command.replace(/kubectl -n netpol-profiles logs (?:<[^>]+>|\S+)(?: --\S+)*/, `cat ${leader().log}`);
  const events = (ns: string, reason: string) => server.list('events.k8s.io/v1', 'events', ns).filter((event) => event.reason === reason);
  const catalogCopy = (invalid: boolean) => {
    const profiles = path.join(repo, 'manifests', 'catalog', 'profiles.yaml');
    const text = readFileSync(path.join(PROJECT_ROOT, 'manifests', 'catalog', 'profiles.yaml'), 'utf8');
    // The same typo as in the cluster: what the commit would carry.
    const documents = parseAllDocuments(text).map((doc) => doc.toJS() as { metadata: { name: string }; spec: { egress?: unknown[] } });
    for (const document of documents) if (document.metadata.name === 'standard') document.spec.egress = [...(document.spec.egress ?? []), { toEntitie: ['world'] }];
    writeFileSync(profiles, invalid ? documents.map((document) => `---\n${stringify(document)}`).join('') : text);
  };
  const makeStandardInvalid = (invalid: boolean) => {
    const profile = server.get(`${D}/v1alpha1`, 'networkprofiles', undefined, 'standard')!;
    const spec = { ...(profile.spec as Record<string, unknown>) };
    if (invalid) spec.egress = [...((spec.egress as unknown[] | undefined) ?? []), { toEntitie: ['world'] }];
    else spec.egress = ((spec.egress as unknown[] | undefined) ?? []).filter((rule) => !(rule as Record<string, unknown>).toEntitie);
    server.apply({ ...profile, spec });
  };
  const readyOf = (name: string) => ((server.get(`${D}/v1alpha1`, 'networkprofiles', undefined, name)?.status as { conditions?: Array<{ type: string; status: string }> })?.conditions ?? []).find((c) => c.type === 'Ready')?.status;
  const ours = (ns: string, name: string) => server.get('cilium.io/v2', 'ciliumnetworkpolicies', ns, name)?.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'netpol-profiles';
  const ok = (result: Result) => expect(result.code, `${result.stdout}${result.stderr}`).to.equal(0);
  const findings = (result: Result) => {
    expect(result.code, result.stderr).to.equal(1);
    expect(result.stdout).to.match(/^operator: netpol-profiles-[01] is leading \(lease netpol-profiles\/netpol-profiles/);
  };
  let conflictDeletedAt = 0;

  /** File → command → its check. */
  const CHECKS: Record<string, Record<string, Check>> = {
    'docs/runbooks/README.md': {
      "grep -rl 'github.com/netpol-profiles/netpol-profiles/blob/main/docs/runbooks/' manifests/prometheus test/prometheus | xargs sed -i 's#https://github.com/netpol-profiles/netpol-profiles/blob/main/docs/runbooks/#https://git.example.com/platform/netpol-profiles/-/blob/main/docs/runbooks/#'": {
        // Run in a copy of the repository: it edits files.
        check: (result) => {
          ok(result);
          for (const file of ['manifests/prometheus/rules.yaml', 'manifests/prometheus/prometheusrule.yaml', ...readdirSync(path.join(repo, 'test/prometheus')).map((f) => `test/prometheus/${f}`)]) {
            const text = readFileSync(path.join(repo, file), 'utf8');
            expect(text, file).not.to.contain('github.com/netpol-profiles');
            expect(text, file).to.contain('https://git.example.com/platform/netpol-profiles/-/blob/main/docs/runbooks/');
          }
          // The rule tests still pass with the new base: their expected annotations moved with it.
          const tests = readdirSync(path.join(repo, 'test/prometheus')).map((f) => `test/prometheus/${f}`);
          const promtool = spawnSync('promtool', ['test', 'rules', ...tests], { cwd: repo, encoding: 'utf8' });
          expect(promtool.status, `${promtool.stdout}${promtool.stderr}`).to.equal(0);
        },
      },
    },
    'docs/runbooks/invalid-labels.md': {
      'netpol-profiles status -n shop': {
        before: async () => {
          server.apply(namespace('shop', { [`${D}/profile`]: 'standrad', [`access.${D}/postgres`]: 'true', [`access.${D}/dragonfly`]: 'true' }));
          await eventually(() => expect(events('shop', 'UnknownProfile')).to.have.length(1));
        },
        check: (result) => {
          findings(result);
          expect(result.stdout).to.contain('shop: UnknownProfile: network-policy.homelab/profile: NetworkProfile "standrad" does not exist; policies already applied are kept');
          expect(result.stdout).to.contain('  fix: in git, set network-policy.homelab/profile to a NetworkProfile (internal, internal-egress, isolated, standard) or add the profile to the catalog');
          expect(result.stdout).to.match(/shop\s+standrad \(invalid\)\s+dragonfly,postgres\s+enforced\s+1 kept, 2 in sync/);
        },
      },
      'kubectl get events -n shop --field-selector involvedObject.name=shop': {
        check: (result) => {
          ok(result);
          expect(result.stdout).to.match(/Warning\s+UnknownProfile\s+namespace\/shop\s+network-policy.homelab\/profile: NetworkProfile "standrad" does not exist/);
        },
      },
      'kubectl get namespace shop --show-labels': { check: (result) => (ok(result), expect(result.stdout).to.contain('network-policy.homelab/profile=standrad')) },
      'kubectl get networkprofiles': {
        check: (result) => {
          ok(result);
          for (const name of ['internal', 'internal-egress', 'isolated', 'standard']) expect(result.stdout).to.match(new RegExp(`^${name}\\s`, 'm'));
        },
      },
      'kubectl get sharedservices': { check: (result) => (ok(result), expect(result.stdout).to.match(/^postgres\s/m).and.match(/^dragonfly\s/m)) },
    },
    'docs/runbooks/escape-hatch.md': {
      'kubectl label namespace shop network-policy.homelab/enforcement=disabled --overwrite': {
        before: async () => {
          server.apply(namespace('shop', { [`${D}/profile`]: 'standard', [`access.${D}/postgres`]: 'true', [`access.${D}/dragonfly`]: 'true' }));
          await eventually(() => expect(server.list('events.k8s.io/v1', 'events', 'shop').some((e) => e.reason === 'PoliciesApplied')).to.equal(true));
        },
        check: (result) => (ok(result), expect(result.stdout).to.contain('namespace/shop labeled')),
      },
      'netpol-profiles status -n shop': {
        before: () => eventually(() => expect(events('shop', 'EnforcementDisabled')).to.have.length(1)),
        check: (result) => {
          findings(result);
          expect(result.stdout).to.match(/shop\s+standard\s+dragonfly,postgres\s+disabled \d+s/);
          expect(result.stdout).to.match(/shop: enforcement disabled since \d{4}-\d\d-\d\dT/);
          expect(result.stdout).to.contain(`fix: once the cause is fixed, remove the label in git and in the cluster: kubectl label namespace shop ${D}/enforcement-`);
        },
      },
      'kubectl get ccnp escape-hatch-allow-all -o yaml': {
        check: (result) => {
          ok(result);
          const ccnp = parse(result.stdout) as { spec: { endpointSelector: { matchLabels: Record<string, string> } } };
          expect(ccnp.spec.endpointSelector.matchLabels).to.deep.equal({ 'io.cilium.k8s.namespace.labels.network-policy.homelab/enforcement': 'disabled' });
        },
      },
      'kubectl get namespaces -l network-policy.homelab/enforcement=disabled': {
        check: (result) => (ok(result), expect(result.stdout.trim().split('\n').slice(1).map((line) => line.split(/\s+/)[0]).sort()).to.deep.equal(['legacy-crm', 'shop'])),
      },
      'kubectl get events -n shop --field-selector reason=EnforcementDisabled': {
        check: (result) => (ok(result), expect(result.stdout).to.match(/Warning\s+EnforcementDisabled\s+namespace\/shop\s+escape hatch on since/)),
      },
      'netpol-profiles simulate --kubeconfig ~/.kube/config shop database/app=postgres 5432': {
        check: (result) => (ok(result), expect(result.stdout).to.match(/shop\s+database\/app=postgres\s+5432\/TCP\s+allowed\s+allow /)),
      },
      'kubectl get cnp -n shop': { check: (result) => (ok(result), expect(result.stdout).to.match(/^access-postgres\s/m).and.match(/^profile-standard\s/m)) },
      'kubectl get ccnp': { check: (result) => (ok(result), expect(result.stdout).to.match(/^escape-hatch-allow-all\s/m).and.match(/^baseline-dns\s/m)) },
      'kubectl get ccnp baseline-<B>': {
        run: (command) => command.replace('<B>', 'dns'),
        check: (result) => (ok(result), expect(result.stdout).to.match(/^baseline-dns\s/m)),
      },
      'hubble observe --namespace shop --verdict DROPPED --since 1h -o json | netpol-profiles diagnose --kubeconfig ~/.kube/config -': {
        check: (result) => {
          // Drops listed: exit 1; each with a cause and its fix, proven through the engine.
          expect(result.code, result.stderr).to.equal(1);
          expect(result.stdout).to.match(/^NAMESPACE\s+DIRECTION\s+FROM\s+TO\s+PORT\s+COUNT\s+CAUSE\s+FIX/);
          expect(result.stdout).to.match(/profile-too-narrow|missing-access-label/);
          expect(result.stdout).to.contain('Proof with the fix: allowed');
        },
      },
      'netpol-profiles render --catalog manifests/catalog --namespaces namespaces/shop.yaml': {
        before: () => {
          mkdirSync(path.join(repo, 'namespaces'), { recursive: true });
          writeFileSync(path.join(repo, 'namespaces', 'shop.yaml'), `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    ${D}/profile: internal\n    access.${D}/postgres: "true"\n`);
        },
        check: (result) => {
          ok(result);
          expect(result.stdout).to.contain('name: profile-internal').and.contain('name: access-postgres');
        },
      },
      'kubectl label namespace shop network-policy.homelab/enforcement-': {
        check: async (result) => {
          ok(result);
          expect(result.stdout).to.contain('namespace/shop unlabeled');
          await eventually(() => expect(events('shop', 'EnforcementRestored')).to.have.length(1));
        },
      },
      'kubectl label namespace shop network-policy.homelab/enforcement=enabled --overwrite': { check: (result) => (ok(result), expect(result.stdout).to.contain('namespace/shop labeled')) },
      'hubble observe --namespace shop --verdict DROPPED -o json | netpol-profiles diagnose --kubeconfig ~/.kube/config -': {
        check: (result) => (expect(result.code, result.stderr).to.equal(1), expect(result.stdout).to.contain('Proof with the fix')),
      },
      'kubectl -n netpol-profiles get configmap netpol-profiles-state -o yaml': {
        check: (result) => {
          ok(result);
          const data = (parse(result.stdout) as { data: Record<string, string> }).data;
          // legacy-crm (the example) is disabled and recorded; shop was restored, so its entry is gone.
          expect(Object.keys(data)).to.deep.equal(['disabled-since.legacy-crm']);
          expect(data['disabled-since.legacy-crm']).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        },
      },
    },
    'docs/runbooks/catalog-invalid.md': {
      'kubectl get networkprofiles': {
        before: async () => {
          makeStandardInvalid(true);
          catalogCopy(true);
          await eventually(() => expect(readyOf('standard')).to.equal('False'));
        },
        check: (result) => (ok(result), expect(result.stdout).to.match(/^standard\s.*False\s*$/m).and.match(/^isolated\s.*True\s*$/m)),
      },
      'kubectl get networkprofile standard -o jsonpath=\'{.status.conditions[?(@.type=="Ready")].message}\'': {
        check: (result) => (ok(result), expect(result.stdout).to.contain('toEntitie')),
      },
      'kubectl get events -n default --field-selector involvedObject.name=standard,reason=Invalid': {
        check: (result) => (ok(result), expect(result.stdout).to.match(/Warning\s+Invalid\s+networkprofile\/standard\s+.*toEntitie/)),
      },
      'netpol-profiles status': {
        check: (result) => {
          findings(result);
          expect(result.stdout).to.match(/^catalog: NetworkProfile\/standard: .*toEntitie/m);
          expect(result.stdout).to.contain('fix: fix NetworkProfile/standard in git and check it with netpol-profiles render');
        },
      },
      'netpol-profiles render --catalog manifests/catalog --namespaces examples/namespaces.yaml >/dev/null': {
        check: (result) => {
          expect(result.code).to.equal(1);
          expect(result.stderr).to.match(/^manifests\/catalog\/profiles\.yaml: NetworkProfile\/standard: .*toEntitie/m);
          expect(result.stderr.trim().split('\n').at(-1)).to.match(/nothing rendered$/);
        },
      },
      'kubectl get sharedservices': { check: (result) => (ok(result), expect(result.stdout).to.match(/^postgres\s/m)) },
      'kubectl get networkbaselines': {
        check: (result) => {
          ok(result);
          expect(result.stdout).to.match(/^dns\s/m);
          makeStandardInvalid(false);
          catalogCopy(false);
        },
      },
    },
    'docs/runbooks/name-conflict.md': {
      'kubectl get cnp profile-standard -n shop -o yaml': {
        before: async () => {
          await eventually(() => expect(readyOf('standard')).to.equal('True'));
          // shop leaves its profile, someone creates a policy of that name, shop asks for it again.
          server.apply(namespace('shop', { [`access.${D}/postgres`]: 'true' }));
          await eventually(() => expect(server.get('cilium.io/v2', 'ciliumnetworkpolicies', 'shop', 'profile-standard')).to.equal(undefined));
          server.apply({ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'profile-standard', namespace: 'shop', labels: { team: 'shop' } }, spec: { endpointSelector: {}, ingress: [{ fromEntities: ['world'] }] } });
          server.apply(namespace('shop', { [`${D}/profile`]: 'standard', [`access.${D}/postgres`]: 'true' }));
          await eventually(() => expect(events('shop', 'NameConflict')).to.have.length(1));
        },
        check: (result) => {
          ok(result);
          const object = parse(result.stdout) as { metadata: { labels: Record<string, string> } };
          expect(object.metadata.labels).to.deep.equal({ team: 'shop' });
        },
      },
      'kubectl get events -n shop --field-selector reason=NameConflict': {
        check: (result) => (ok(result), expect(result.stdout).to.match(/Warning\s+NameConflict\s+namespace\/shop\s+not overwriting shop\/profile-standard/)),
      },
      'netpol-profiles status -n shop': {
        check: (result) => {
          findings(result);
          expect(result.stdout).to.contain('shop: CiliumNetworkPolicy profile-standard is held by an object without app.kubernetes.io/managed-by=netpol-profiles');
          expect(result.stdout).to.contain('fix: find who made it (kubectl get cnp profile-standard -n shop -o yaml), then rename or delete it there');
        },
      },
      'kubectl delete cnp profile-standard -n shop': {
        check: (result) => {
          ok(result);
          expect(result.stdout).to.contain('ciliumnetworkpolicy.cilium.io "profile-standard" deleted');
          // "checks a blocked name again every 60 seconds": asserted at the end of the test.
          conflictDeletedAt = Date.now();
        },
      },
      'kubectl get ccnp <name> -o yaml': {
        run: (command) => command.replace('<name>', 'baseline-dns'),
        check: (result) => (ok(result), expect((parse(result.stdout) as { kind: string }).kind).to.equal('CiliumClusterwideNetworkPolicy')),
      },
    },
    'docs/runbooks/reconcile-failing.md': {
      "kubectl -n netpol-profiles get lease netpol-profiles -o jsonpath='{.spec.holderIdentity}'": {
        before: async () => {
          // Writes into namespace faulty fail with 500 for a while: reconciles fail and are retried.
          server.apply(namespace('faulty'));
          server.faults.failNext(6, { verb: 'create', resource: 'ciliumnetworkpolicies', namespace: 'faulty', status: 500, message: 'etcdserver: request timed out' });
          server.apply(namespace('faulty', { [`${D}/profile`]: 'isolated' }));
          await eventually(() => expect(readFileSync(leader().log, 'utf8')).to.contain('"key":"faulty","level":"warn","message":"reconcile failed"'), 15_000);
        },
        check: (result) => (ok(result), expect(result.stdout).to.equal(leader().name)),
      },
      'kubectl -n netpol-profiles logs <leader pod> --since=30m | grep \'"message":"reconcile failed"\'': {
        run: logsFromFile,
        check: (result) => {
          ok(result);
          const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
          const faulty = lines.filter((line) => line.key === 'faulty');
          expect(faulty.length).to.be.greaterThan(0);
          expect(faulty[0]).to.include({ controller: 'namespace', level: 'warn', message: 'reconcile failed' });
          expect(String(faulty[0]!.error)).to.contain('500').and.contain('etcdserver: request timed out');
          expect(faulty[0]!.retryInMs).to.be.a('number');
        },
      },
      'netpol-profiles status': { check: (result) => (findings(result), expect(result.stdout).to.contain('  fix: ')) },
      'kubectl get events -A --field-selector type=Warning': {
        // Label problems, and the catalog's events in namespace default.
        check: (result) => (ok(result), expect(result.stdout).to.match(/blog\s+.*Warning\s+UnknownProfile/).and.match(/default\s+.*Warning\s+Invalid\s+networkprofile\/standard/)),
      },
      'kubectl auth can-i create ciliumnetworkpolicies.cilium.io -n shop --as=system:serviceaccount:netpol-profiles:netpol-profiles': {
        check: (result) => (ok(result), expect(result.stdout.trim()).to.equal('yes')),
      },
      'netpol-profiles render --catalog manifests/catalog --namespaces examples/namespaces.yaml >/dev/null': {
        check: (result) => {
          expect(result.code).to.equal(1);
          expect(result.stderr).to.contain('examples/namespaces.yaml: blog: UnknownProfile');
          expect(result.stderr.trim().split('\n').at(-1)).to.equal('render: 2 label problems; objects for everything valid were printed');
        },
      },
      'kubectl annotate namespace shop netpol-profiles.example/retry="$(date +%s)" --overwrite': {
        check: (result) => (ok(result), expect(result.stdout).to.contain('namespace/shop annotated')),
      },
    },
    'docs/runbooks/operator-down.md': {
      'kubectl get namespaces -l network-policy.homelab/enforcement=disabled': {
        before: () => {
          for (const replica of replicas) {
            server.apply({
              apiVersion: 'v1',
              kind: 'Pod',
              metadata: { name: replica.name, namespace: 'netpol-profiles', labels: { 'app.kubernetes.io/name': 'netpol-profiles' } },
              spec: { containers: [{ name: 'operator', image: 'ghcr.io/netpol-profiles/netpol-profiles:0.1.0' }] },
              status: { phase: 'Running', containerStatuses: [{ name: 'operator', ready: replica.name !== 'netpol-profiles-1', restartCount: replica.name === 'netpol-profiles-1' ? 7 : 0, ...(replica.name === 'netpol-profiles-1' ? { state: { waiting: { reason: 'CrashLoopBackOff' } } } : {}) }] },
            });
          }
          server.apply({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'netpol-profiles-metrics', namespace: 'netpol-profiles' }, subsets: [{ addresses: [{ ip: '10.0.0.11' }], ports: [{ name: 'metrics', port: 8080 }] }] });
        },
        check: (result) => (ok(result), expect(result.stdout).to.match(/^legacy-crm\s/m)),
      },
      'kubectl -n netpol-profiles get deploy,pods -l app.kubernetes.io/name=netpol-profiles -o wide': {
        check: (result) => {
          ok(result);
          expect(result.stdout).to.match(/^deployment\.apps\/netpol-profiles\s/m);
          expect(result.stdout).to.match(/^pod\/netpol-profiles-1\s+0\/1\s+CrashLoopBackOff\s+7\s/m);
        },
      },
      'kubectl -n netpol-profiles describe pods -l app.kubernetes.io/name=netpol-profiles': {
        check: (result) => (ok(result), expect(result.stdout).to.match(/^Name:\s+netpol-profiles-0$/m).and.match(/^Name:\s+netpol-profiles-1$/m)),
      },
      'kubectl -n netpol-profiles logs deploy/netpol-profiles --since=30m | grep -E \'"level":"(error|warn)"\'': {
        run: logsFromFile,
        check: (result) => {
          ok(result);
          const levels = result.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { level: string }).level);
          expect(levels.length).to.be.greaterThan(0);
          expect(levels.every((level) => level === 'warn' || level === 'error')).to.equal(true);
        },
      },
      'kubectl -n netpol-profiles logs <pod> --previous | tail -n 20': {
        run: logsFromFile,
        check: (result) => {
          ok(result);
          const lines = result.stdout.trim().split('\n');
          expect(lines).to.have.length(20);
          for (const line of lines) expect(JSON.parse(line)).to.include.keys('level', 'message', 'timestamp');
          expect(readFileSync(leader().log, 'utf8')).to.contain('"message":"caches synced"').and.contain('"message":"became leader"');
        },
      },
      'kubectl -n netpol-profiles get lease netpol-profiles -o yaml': {
        check: (result) => {
          ok(result);
          const lease = parse(result.stdout) as { metadata: { annotations: Record<string, string> }; spec: { holderIdentity: string; renewTime: string } };
          expect(lease.spec.holderIdentity).to.equal(leader().name);
          expect(Date.now() - Date.parse(lease.spec.renewTime)).to.be.below(15_000);
          expect(lease.metadata.annotations['netpol-profiles/mode']).to.equal('enforce');
        },
      },
      'kubectl auth can-i list namespaces --as=system:serviceaccount:netpol-profiles:netpol-profiles': { check: (result) => (ok(result), expect(result.stdout.trim()).to.equal('yes')) },
      'kubectl auth can-i watch ciliumnetworkpolicies.cilium.io -A --as=system:serviceaccount:netpol-profiles:netpol-profiles': {
        check: (result) => (ok(result), expect(result.stdout.trim()).to.equal('yes')),
      },
      'kubectl -n netpol-profiles get endpoints netpol-profiles-metrics': { check: (result) => (ok(result), expect(result.stdout).to.match(/netpol-profiles-metrics\s+10\.0\.0\.11:8080/)) },
      'hubble observe --namespace netpol-profiles --verdict DROPPED -o json | netpol-profiles diagnose --kubeconfig ~/.kube/config -': {
        check: (result) => (expect(result.code, result.stderr).to.equal(1), expect(result.stdout).to.match(/^NAMESPACE\s+DIRECTION/)),
      },
    },
    'docs/status.md': {
      'npm ci && npm run build': {
        notRun: 'CI runs exactly this on a fresh clone (.ci/run: npm ci, then npm test, which builds first)',
        check: () => {
          const ci = readFileSync(path.join(PROJECT_ROOT, '.ci', 'run'), 'utf8');
          expect(ci).to.match(/^npm ci\b/m).and.match(/^npm test$/m);
          const scripts = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
          expect(scripts.test).to.match(/^npm run build && /);
        },
      },
      'npm install -g .': {
        env: () => ({ ...baseEnv(), npm_config_prefix: path.join(work, 'prefix'), PATH: `${path.join(work, 'prefix', 'bin')}:${process.env.PATH ?? ''}` }),
        check: (result) => {
          ok(result);
          expect(readdirSync(path.join(work, 'prefix', 'bin')).sort()).to.deep.equal(['kubectl-netpol_profiles', 'netpol-profiles']);
        },
      },
      'kubectl netpol-profiles status -n shop': {
        env: () => ({ HOME: home, PATH: `${path.join(work, 'prefix', 'bin')}:${process.env.PATH ?? ''}` }),
        check: (result) => {
          expect(result.stdout).to.match(/^operator: netpol-profiles-[01] is leading/);
          expect(result.stdout).to.match(/^shop\s+standard\s/m);
        },
      },
      'ln -s "$PWD/dist/src/cli/main.js" ~/.local/bin/kubectl-netpol_profiles': {
        before: () => mkdirSync(path.join(home, '.local', 'bin'), { recursive: true }),
        check: (result) => ok(result),
      },
      'kubectl plugin list': { check: (result) => (ok(result), expect(result.stdout).to.contain(path.join(home, '.local', 'bin', 'kubectl-netpol_profiles'))) },
      'kubectl netpol-profiles status -o json': {
        check: (result) => {
          const report = JSON.parse(result.stdout) as { operator: { leading: boolean; mode: string } };
          expect(report.operator).to.include({ leading: true, mode: 'enforce' });
        },
      },
      'kubectl netpol-profiles status --context <context>': {
        run: (command) => command.replace('<context>', 'admin@netpol-test'),
        check: (result) => expect(result.stdout).to.match(/^operator: netpol-profiles-[01] is leading/),
      },
    },
  };

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'netpol-runbooks-'));
    home = path.join(work, 'home');
    bin = path.join(work, 'bin');
    repo = path.join(work, 'repo');
    for (const dir of [home, bin, repo, path.join(home, '.kube'), path.join(repo, 'manifests'), path.join(repo, 'test'), path.join(work, 'logs')]) mkdirSync(dir, { recursive: true });
    // A checkout to run the commands in: what they edit is copied, the rest linked.
    for (const entry of ['dist', 'examples', 'node_modules', 'package.json', 'crds']) symlinkSync(path.join(PROJECT_ROOT, entry), path.join(repo, entry));
    for (const entry of readdirSync(path.join(PROJECT_ROOT, 'manifests'))) {
      if (entry === 'prometheus' || entry === 'catalog') cpSync(path.join(PROJECT_ROOT, 'manifests', entry), path.join(repo, 'manifests', entry), { recursive: true });
      else symlinkSync(path.join(PROJECT_ROOT, 'manifests', entry), path.join(repo, 'manifests', entry));
    }
    cpSync(path.join(PROJECT_ROOT, 'test', 'prometheus'), path.join(repo, 'test', 'prometheus'), { recursive: true });
    symlinkSync(CLI, path.join(bin, 'netpol-profiles'));
    // The stand-in for Hubble (no Cilium here): the project's sample flows, whatever is asked.
    writeFileSync(path.join(bin, 'hubble'), `#!/bin/sh\ncat '${path.join(PROJECT_ROOT, 'examples', 'hubble-flows.jsonl')}'\n`);
    chmodSync(path.join(bin, 'hubble'), 0o755);

    server = await Server.start({ rbac: true, crdFiles: readdirSync(CILIUM_CRD_DIR).map((f) => path.join(CILIUM_CRD_DIR, f)), bookmarkIntervalMs: 200 });
    // Asynchronously: the test API server answers from this process.
    const kubectl = (args: string) => runShell(`kubectl --kubeconfig '${server.kubeconfigPath}' ${args}`, PROJECT_ROOT, { PATH: process.env.PATH ?? '', HOME: home });
    for (const dir of ['manifests', 'manifests/catalog']) {
      const applied = await kubectl(`apply -k ${dir}`);
      expect(applied.code, applied.stderr).to.equal(0);
      if (dir === 'manifests') expect((await kubectl('wait --for=condition=Established crd/networkprofiles.network-policy.homelab --timeout=10s')).code).to.equal(0);
    }
    server.applyManifests([EXAMPLE_NAMESPACES]);
    // ~/.kube/config for kubectl and for the CLI's --kubeconfig ~/.kube/config, context "test".
    writeFileSync(path.join(home, '.kube', 'config'), readFileSync(server.kubeconfigPath, 'utf8'));

    // Two replicas as the Deployment runs them, each as the ServiceAccount.
    const deployment = server.get('apps/v1', 'deployments', 'netpol-profiles', 'netpol-profiles')!;
    const args = (deployment.spec as { template: { spec: { containers: Array<{ args: string[] }> } } }).template.spec.containers[0]!.args;
    const kubeconfig = server.kubeconfigFor(serviceAccountUser('netpol-profiles', 'netpol-profiles'), 'netpol-profiles');
    for (const index of [0, 1]) {
      const name = `netpol-profiles-${index}`;
      const log = path.join(work, 'logs', `${name}.log`);
      const out = createWriteStream(log);
      const child = spawn(process.execPath, [CLI, ...args, '--kubeconfig', kubeconfig, '--metrics-addr', '127.0.0.1:0', '--health-addr', '127.0.0.1:0'], {
        env: { PATH: process.env.PATH ?? '', POD_NAME: name, POD_NAMESPACE: 'netpol-profiles' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.pipe(out);
      child.stderr!.pipe(out);
      replicas.push({ name, child, log, exited: new Promise((resolve) => child.once('exit', resolve)) });
      if (index === 0) await eventually(() => leader(), 20_000, 'the first replica leads');
    }
    await eventually(() => expect(server.get('cilium.io/v2', 'ciliumnetworkpolicies', 'shop', 'profile-standard')).to.not.equal(undefined), 20_000);
  });

  after(async () => {
    for (const replica of replicas) replica.child.kill('SIGTERM');
    await Promise.all(replicas.map((replica) => replica.exited));
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('every documented command has a check, and every check a documented command', () => {
    const unchecked = DOCS.flatMap((file) => documentedCommands(readFileSync(path.join(PROJECT_ROOT, file), 'utf8')).filter((c) => CHECKS[file]?.[c] === undefined).map((c) => `${file}: ${c}`));
    expect(unchecked, 'documented commands without a check here').to.deep.equal([]);
    const stale = DOCS.flatMap((file) => {
      const commands = documentedCommands(readFileSync(path.join(PROJECT_ROOT, file), 'utf8'));
      return Object.keys(CHECKS[file] ?? {}).filter((command) => !commands.includes(command)).map((c) => `${file}: ${c}`);
    });
    expect(stale, 'checks of commands the documents no longer have').to.deep.equal([]);
    expect(Object.keys(CHECKS).sort()).to.deep.equal([...DOCS].sort());
  });

  for (const file of DOCS) {
    it(`${file}: each command, in order, shows what the text says`, async () => {
      const commands = documentedCommands(readFileSync(path.join(PROJECT_ROOT, file), 'utf8'));
      expect(commands.length, file).to.be.greaterThan(0);
      for (const command of commands) {
        const check = CHECKS[file]?.[command];
        expect(check, `${file}: ${command} has a check`).to.not.equal(undefined);
        await check!.before?.();
        if (check!.notRun) {
          await check!.check({ code: 0, stdout: '', stderr: '' });
          continue;
        }
        const line = check!.run ? check!.run(command) : command;
        const result = await runShell(line, repo, check!.env ? check!.env() : baseEnv());
        try {
          await check!.check(result);
        } catch (error) {
          throw new Error(`${file}: \`${command}\`${line === command ? '' : ` (run as \`${line}\`)`}: ${error instanceof Error ? error.message : String(error)}\n--- stdout\n${result.stdout.slice(0, 3000)}\n--- stderr\n${result.stderr.slice(0, 2000)}`);
        }
      }
    });
  }

  it('name-conflict.md: once the foreign object is deleted, the operator creates its own within the 60 s recheck', async () => {
    expect(conflictDeletedAt, 'the delete ran').to.be.greaterThan(0);
    await eventually(() => expect(ours('shop', 'profile-standard')).to.equal(true), Math.max(1_000, conflictDeletedAt + 70_000 - Date.now()), 'profile-standard is ours again');
  });
});
