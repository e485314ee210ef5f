// `netpol-profiles render` and `version` as a user runs them: the built CLI in a child process,
// real files, exit codes, stdout and stderr. Bad input must give one clear line per problem and
// never a stack trace.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { cli, expectNoStackTrace, scratchDirectory } from '../support/cli.js';
import { DEFAULT_CATALOG_DIR, EXAMPLE_NAMESPACES, PROJECT_ROOT } from '../support/project.js';

const D = 'network-policy.homelab';

describe('render command', () => {
  const scratch = scratchDirectory('netpol-render-');
  const file = scratch.file;
  const ns = (name: string, labels: Record<string, string> = {}): string =>
    `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n  labels: ${JSON.stringify(labels)}\n`;


  it('renders the examples: valid objects on stdout, each label problem on stderr, exit 1', () => {
    const run = cli(['render', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', EXAMPLE_NAMESPACES]);
    expect(run.code).to.equal(1);
    const objects = parseAllDocuments(run.stdout).map((d) => d.toJS());
    const names = objects.map((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`);
    expect(names).to.include.members(['shop/profile-standard', 'shop/access-postgres', '/escape-hatch-allow-all', 'legacy-crm/profile-standard']);
    expect(names.filter((n) => n.startsWith('blog/') || n.startsWith('monitoring/') || n.startsWith('kube-system/'))).to.deep.equal([]);
    const lines = run.stderr.trim().split('\n');
    expect(lines).to.have.length(3);
    expect(lines[0]).to.match(/^.*examples\/namespaces\.yaml: blog: UnknownProfile: /);
    expect(lines[1]).to.match(/examples\/namespaces\.yaml: monitoring: ProtectedNamespace: /);
    expect(lines[2]).to.contain('2 label problems');
  });

  it('exits 0 with a valid input, and prints a JSON List with -o json', () => {
    const nsFile = file('ns.yaml', ns('shop', { [`${D}/profile`]: 'standard', [`access.${D}/postgres`]: 'true' }));
    const run = cli(['render', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', nsFile, '-o', 'json']);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stderr).to.equal('');
    const list = JSON.parse(run.stdout);
    expect(list.kind).to.equal('List');
    expect(list.items.map((o: { metadata: { name: string } }) => o.metadata.name)).to.deep.equal([
      'baseline-dns', 'baseline-health-probes', 'baseline-istio-ambient-hbone', 'baseline-prometheus-scrape', 'escape-hatch-allow-all', 'access-postgres',
      'profile-standard',
    ]);
  });

  it('reads Namespaces from stdin with --namespaces -', () => {
    const run = cli(['render', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', '-'], { input: ns('batch', { [`${D}/profile`]: 'isolated' }) });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.contain('name: profile-isolated').and.contain('namespace: batch');
  });

  it('reads a catalog from stdin, as piped from kubectl kustomize (the strict component)', () => {
    const catalog = spawnSync('kubectl', ['kustomize', path.join(PROJECT_ROOT, 'examples/strict')], { encoding: 'utf8' }).stdout;
    const nsFile = file('ns.yaml', ns('shop', { [`${D}/profile`]: 'standard' }));
    const run = cli(['render', '--catalog', '-', '--namespaces', nsFile], { input: catalog });
    expect(run.code, run.stderr).to.equal(0);
    const baseline = parseAllDocuments(run.stdout).map((d) => d.toJS()).find((o) => o.metadata.name === 'baseline-dns');
    // Every pod (not the cilium-health endpoints) outside the Istio namespaces, then the operator's exclusions.
    expect(baseline.spec.endpointSelector.matchExpressions.slice(0, 2)).to.deep.equal([
      { key: 'k8s:io.kubernetes.pod.namespace', operator: 'Exists' },
      { key: 'k8s:io.kubernetes.pod.namespace', operator: 'NotIn', values: ['istio-gateway', 'istio-system'] },
    ]);
  });

  it('reads a List of Namespaces, and is byte-identical across runs and input orders', () => {
    const a = ns('a', { [`${D}/profile`]: 'standard' });
    const b = ns('b', { [`${D}/profile`]: 'internal' });
    const one = file('one.yaml', `${a}---\n${b}`);
    const two = file('two.yaml', `${b}---\n${a}`);
    const list = file('list.json', JSON.stringify({ apiVersion: 'v1', kind: 'List', items: parseAllDocuments(`${a}---\n${b}`).map((d) => d.toJS()) }));
    const outputs = [one, two, list].map((f) => cli(['render', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', f]));
    for (const run of outputs) expect(run.code, run.stderr).to.equal(0);
    expect(outputs[1]!.stdout).to.equal(outputs[0]!.stdout);
    expect(outputs[2]!.stdout).to.equal(outputs[0]!.stdout);
  });

  it('honours --label-domain and --protected-namespaces, also from the environment', () => {
    const nsFile = file('ns.yaml', ns('team', { 'np.example.org/profile': 'isolated' }) + '---\n' + ns('infra', { 'np.example.org/profile': 'isolated' }));
    const run = cli(['render', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', nsFile, '--label-domain', 'np.example.org'], {
      env: { NETPOL_PROFILES_PROTECTED_NAMESPACES: 'infra' },
    });
    expect(run.code).to.equal(1);
    expect(run.stdout).to.contain('namespace: team').and.contain('np.example.org/generated-from: profile.isolated');
    expect(run.stdout).not.to.contain('namespace: infra');
    expect(run.stderr).to.contain('infra: ProtectedNamespace');
  });

  describe('bad input: one line per problem naming the input, exit 1, nothing printed, no stack trace', () => {
    const cases: Array<[string, () => string[], RegExp]> = [
      ['a YAML syntax error', () => ['--namespaces', file('bad.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: [oops\n')], /bad\.yaml: document 1: YAML syntax error at line \d+, column \d+/],
      ['a document of another kind', () => ['--namespaces', file('deploy.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n')], /deploy\.yaml: Deployment\/web: is a Deployment; expected a Namespace or a catalog kind/],
      ['a Namespace without a name', () => ['--namespaces', file('noname.yaml', `${ns('ok')}---\napiVersion: v1\nkind: Namespace\nmetadata: {}\n`)], /noname\.yaml: document 2: Namespace has no metadata\.name/],
      ['a missing file', () => ['--namespaces', path.join(scratch.dir, 'missing.yaml')], /missing\.yaml: file: cannot read: no such file or directory/],
      ['an unquoted boolean label value', () => ['--namespaces', file('bool.yaml', `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: app\n  labels:\n    access.${D}/postgres: true\n`)], /bool\.yaml: app: label access\.network-policy\.homelab\/postgres: value "true" is a boolean, not a string/],
      ['an invalid catalog object', () => ['--catalog', file('cat.yaml', `apiVersion: ${D}/v1alpha1\nkind: SharedService\nmetadata:\n  name: pg\nspec:\n  namespace: db\n  ports: [{port: "99999"}]\n`)], /cat\.yaml: SharedService\/pg: spec\.ports\[0\]\.port "99999" must be a port number/],
      ['a namespace defined twice', () => ['--namespaces', file('twice.yaml', `${ns('app')}---\n${ns('app')}`)], /twice\.yaml: app: Namespace is defined twice/],
    ];
    for (const [what, args, expected] of cases) {
      it(what, () => {
        const run = cli(['render', '--catalog', DEFAULT_CATALOG_DIR, ...args()]);
        expect(run.code, run.stderr).to.equal(1);
        expect(run.stdout).to.equal('');
        expect(run.stderr).to.match(expected);
        const lines = run.stderr.trim().split('\n');
        expect(lines[lines.length - 1]).to.match(/input problems?; nothing rendered$/);
        expectNoStackTrace(run);
      });
    }
  });

  describe('label values the API server would refuse: an input problem in one line, exit 1, nothing rendered', () => {
    for (const [what, value] of [
      ['300 characters', 'x'.repeat(300)],
      ['a newline', 'standard\ninjected: line'],
    ] as const) {
      it(`a profile label value with ${what}`, () => {
        const nsFile = file('ns.yaml', `${ns('bad', { [`${D}/profile`]: value })}---\n${ns('good', { [`${D}/profile`]: 'standard' })}`);
        const run = cli(['render', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', nsFile]);
        expect(run.code).to.equal(1);
        const lines = run.stderr.trim().split('\n');
        expect(lines).to.have.length(2);
        expect(lines[0]).to.match(/ns\.yaml: bad: label network-policy\.homelab\/profile: value ".*"( \(\d+ characters\))? is not a valid label value/);
        expect(lines[0]!.length).to.be.below(300);
        expect(lines[1]).to.equal('render: 1 input problem; nothing rendered');
        expect(run.stdout).to.equal('');
        expectNoStackTrace(run);
      });
    }
  });

  describe('usage errors: one line, exit 2', () => {
    const cases: Array<[string, string[], RegExp]> = [
      ['an unknown flag', ['render', '--catalog', 'x', '--frobnicate'], /render: unknown flag --frobnicate/],
      ['a flag without its value', ['render', '--catalog'], /render: flag --catalog needs a value/],
      ['no --catalog', ['render'], /render needs at least one --catalog PATH/],
      ['an unknown output format', ['render', '--catalog', 'x', '-o', 'xml'], /--output must be yaml or json/],
      ['a positional argument', ['render', '--catalog', 'x', 'extra'], /unexpected argument "extra"/],
      ['an invalid label domain', ['render', '--catalog', 'x', '--label-domain', 'Not_A_Domain'], /--label-domain: "Not_A_Domain" is not a valid label domain/],
      ['an unknown command', ['frobnicate'], /unknown command "frobnicate"/],
    ];
    for (const [what, args, expected] of cases) {
      it(what, () => {
        const run = cli(args);
        expect(run.code).to.equal(2);
        expect(run.stdout).to.equal('');
        expect(run.stderr).to.match(expected);
        expect(run.stderr.trim().split('\n').length).to.be.at.most(2);
        expectNoStackTrace(run);
      });
    }
  });

  it('prints help for render and the version', () => {
    const help = cli(['render', '--help']);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.contain('--catalog PATH').and.contain('NETPOL_PROFILES_LABEL_DOMAIN');
    const version = cli(['version']);
    expect(version.code).to.equal(0);
    expect(version.stdout).to.match(/^netpol-profiles \d+\.\d+\.\d+\n$/);
  });

  it('prints help for every command with --help and -h, exit 0, nothing on stderr', () => {
    for (const command of ['run', 'render', 'status', 'simulate', 'diagnose', 'version']) {
      for (const flag of ['--help', '-h']) {
        const help = cli([command, flag]);
        expect(help.code, `${command} ${flag}`).to.equal(0);
        expect(help.stderr, `${command} ${flag}`).to.equal('');
        expect(help.stdout, `${command} ${flag}`).to.match(new RegExp(`^Usage: netpol-profiles ${command}`));
      }
    }
  });
});
