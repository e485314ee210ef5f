// `render` as the CI gate of a GitOps repository: typos in label keys of our domain, folders per
// team (-R), whole kustomize builds or app folders (--skip-other-kinds), every problem of every
// file in one run, and the problem list repeated last when a person reads the output in a terminal.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { cli, expectNoStackTrace, scratchDirectory } from '../support/cli.js';
import { CLI, DEFAULT_CATALOG_DIR, EXAMPLE_NAMESPACES, PROJECT_ROOT } from '../support/project.js';
import { editDistance, unknownLabelKeys } from '../../src/labels.js';
import { labelKeys } from '../../src/config.js';

const D = 'network-policy.homelab';
const ns = (name: string, labels: Record<string, string> = {}): string =>
  `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n  labels: ${JSON.stringify(labels)}\n`;
const names = (stdout: string): string[] =>
  parseAllDocuments(stdout).map((d) => {
    const o = d.toJS() as { metadata: { name: string; namespace?: string } };
    return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  });

describe('render as a CI gate', () => {
  const scratch = scratchDirectory('netpol-gate-');
  const file = scratch.file;


  describe('label keys of our domain that are not ours', () => {
    it('are problems (exit 1) naming the closest known key; the rest still renders', () => {
      const input = file('ns.yaml', ns('shop', { [`${D}/profiel`]: 'standard', [`${D}/enforcment`]: 'disabled', [`acess.${D}/postgres`]: 'true', [`${D}/profile`]: 'standard' }));
      const run = cli(['render', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', input]);
      expect(run.code).to.equal(1);
      expect(names(run.stdout)).to.include('shop/profile-standard');
      const lines = run.stderr.trim().split('\n');
      expect(lines).to.deep.equal([
        `${input}: shop: UnknownLabelKey: acess.${D}/postgres: not a label netpol-profiles knows, so it is ignored; did you mean access.${D}/postgres?`,
        `${input}: shop: UnknownLabelKey: ${D}/enforcment: not a label netpol-profiles knows, so it is ignored; did you mean ${D}/enforcement?`,
        `${input}: shop: UnknownLabelKey: ${D}/profiel: not a label netpol-profiles knows, so it is ignored; did you mean ${D}/profile?`,
        'render: 3 unknown label keys; objects for everything valid were printed',
      ]);
    });

    it('are warnings only with --allow-unknown-keys (exit 0)', () => {
      const input = file('ns.yaml', ns('shop', { [`${D}/profile`]: 'standard', [`${D}/owner`]: 'team-a' }));
      const run = cli(['render', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', input, '--allow-unknown-keys']);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stderr).to.contain(`shop: warning: UnknownLabelKey: ${D}/owner: not a label netpol-profiles knows, so it is ignored; the keys are ${D}/profile, ${D}/enforcement, ${D}/platform and access.${D}/<service>`);
      expect(run.stderr).to.contain('render: 1 unknown label key (allowed); objects for everything valid were printed');
      expect(names(run.stdout)).to.include('shop/profile-standard');
    });

    it('follow --label-domain, and a misspelt domain counts as ours', () => {
      const input = file('ns.yaml', ns('shop', { 'netpol.example.com/profile': 'standard', 'netpol.exmaple.com/profile': 'standard', [`${D}/profiel`]: 'x' }));
      const run = cli(['render', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', input, '--label-domain', 'netpol.example.com']);
      expect(run.code).to.equal(1);
      expect(run.stderr).to.contain('UnknownLabelKey: netpol.exmaple.com/profile: not a label netpol-profiles knows, so it is ignored; did you mean netpol.example.com/profile?');
      expect(run.stderr, 'the default domain is not ours any more').not.to.contain(`${D}/profiel`);
    });

    it('leave other domains, and our own keys, alone', () => {
      const keys = labelKeys(D);
      const labels = { [`${D}/profile`]: 'a', [`${D}/enforcement`]: 'disabled', [`${D}/platform`]: 'true', [`access.${D}/x`]: 'true', 'app.kubernetes.io/name': 'x', 'team': 'a', 'policy.example.org/profile': 'a' };
      expect(unknownLabelKeys(labels, keys)).to.deep.equal([]);
      expect(unknownLabelKeys({ [`sub.${D}/thing`]: 'a' }, keys)).to.deep.equal([{ label: `sub.${D}/thing` }]);
      expect(editDistance('profiel', 'profile')).to.equal(1);
      expect(editDistance('enforcment', 'enforcement')).to.equal(1);
    });
  });

  describe('directories', () => {
    it('without -R: a subdirectory holding YAML is an input problem naming it, nothing rendered', () => {
      file('root.yaml', ns('root', { [`${D}/profile`]: 'standard' }));
      file('team-a/ns.yaml', ns('a', { [`${D}/profile`]: 'standard' }));
      file('team-b/deeper/ns.yaml', ns('b', { [`${D}/profile`]: 'standard' }));
      file('docs/readme.txt', 'not YAML');
      const run = cli(['render', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', scratch.dir]);
      expect(run.code).to.equal(1);
      expect(run.stdout).to.equal('');
      expect(run.stderr.trim().split('\n')).to.deep.equal([
        `${scratch.dir}: directory: subdirectories team-a, team-b hold YAML or JSON files that were not read; give -R (--recursive) to read them, or name them`,
        'render: 1 input problem; nothing rendered',
      ]);
    });

    it('with -R (or --recursive): every YAML file of every subdirectory, hidden directories and kustomization files aside, each real directory once', () => {
      file('team-a/ns.yaml', ns('a', { [`${D}/profile`]: 'standard' }));
      file('team-b/deeper/ns.yaml', ns('b', { [`${D}/profile`]: 'isolated' }));
      file('team-b/kustomization.yaml', 'resources: [deeper/ns.yaml]\n');
      file('.git/config.yaml', 'not: a namespace\n');
      symlinkSync(scratch.dir, path.join(scratch.dir, 'team-a', 'loop'));
      for (const flag of ['-R', '--recursive']) {
        const run = cli(['render', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', scratch.dir, flag]);
        expect(run.code, run.stderr).to.equal(0);
        expect(names(run.stdout)).to.include.members(['a/profile-standard', 'b/profile-isolated']);
      }
    });

    it('the default catalog directory reads as before without -R (its strict/ holds only a kustomization)', () => {
      const run = cli(['render', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', file('ns.yaml', ns('shop', { [`${D}/profile`]: 'standard' }))]);
      expect(run.code, run.stderr).to.equal(0);
    });
  });

  describe('--skip-other-kinds', () => {
    const app = [
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n',
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n',
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n',
      ns('shop', { [`${D}/profile`]: 'standard' }),
    ].join('---\n');

    it('without it, every other kind is named as an input problem, nothing rendered', () => {
      const run = cli(['render', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', file('app.yaml', app)]);
      expect(run.code).to.equal(1);
      expect(run.stdout).to.equal('');
      expect(run.stderr).to.contain('Deployment/web: is a Deployment; expected a Namespace or a catalog kind').and.contain('give --skip-other-kinds');
      expect(run.stderr.match(/is a Service/g)).to.have.length(2);
    });

    it('leaves them out with one counting line on stderr; a kustomize build on stdin is an input', () => {
      const build = spawnSync('kubectl', ['kustomize', path.join(PROJECT_ROOT, 'manifests')], { encoding: 'utf8' });
      expect(build.status, build.stderr).to.equal(0);
      const input = `${build.stdout}---\n${app}`;
      const run = cli(['render', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', '-', '--skip-other-kinds'], { input });
      expect(run.code, run.stderr).to.equal(0);
      const lines = run.stderr.trim().split('\n');
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(/^render: skipped 15 objects of other kinds: CustomResourceDefinition 3, Service 3, Deployment 2, CiliumNetworkPolicy 1, ClusterRole 1, /);
      // The operator's own Namespace is protected; shop gets its profile.
      expect(names(run.stdout)).to.include('shop/profile-standard');
    });
  });

  it('lists every problem of every file in one run (input, catalog and label problems), and prints no objects', () => {
    const broken = file('a-broken.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: [unclosed\n');
    const badCatalog = file(
      'b-catalog.yaml',
      `apiVersion: ${D}/v1alpha1\nkind: NetworkProfile\nmetadata:\n  name: web\nspec:\n  egress:\n    - toEntitie: [world]\n---\napiVersion: ${D}/v1alpha1\nkind: SharedService\nmetadata:\n  name: redis\nspec:\n  namespace: cache\n  ports: [{port: "99999"}]\n`,
    );
    const other = file('c-other.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n');
    const labels = file('d-labels.yaml', ns('blog', { [`${D}/profile`]: 'standrad', [`${D}/enforcment`]: 'disabled' }));
    const run = cli(['render', '--catalog', DEFAULT_CATALOG_DIR, '--catalog', badCatalog, '--namespaces', broken, '--namespaces', other, '--namespaces', labels]);
    expect(run.code).to.equal(1);
    expect(run.stdout).to.equal('');
    expectNoStackTrace(run);
    const stderr = run.stderr;
    expect(stderr).to.match(new RegExp(`${broken}: document 1: YAML syntax error at line \\d+, column \\d+`));
    expect(stderr).to.contain(`${badCatalog}: NetworkProfile/web:`).and.contain('toEntitie');
    expect(stderr).to.contain(`${badCatalog}: SharedService/redis:`);
    expect(stderr).to.contain(`${other}: ConfigMap/x: is a ConfigMap`);
    expect(stderr).to.contain(`${labels}: blog: UnknownProfile: ${D}/profile: NetworkProfile "standrad" does not exist`);
    expect(stderr).to.contain(`${labels}: blog: UnknownLabelKey: ${D}/enforcment:`);
    expect(stderr.trim().split('\n').at(-1)).to.match(/^render: \d+ input problems, 1 label problem, 1 unknown label key; nothing rendered$/);
  });

  it('says offline what a kept profile means offline', () => {
    const run = cli(['render', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', EXAMPLE_NAMESPACES]);
    expect(run.stderr).to.contain('blog: UnknownProfile: network-policy.homelab/profile: NetworkProfile "standrad" does not exist; no profile policy is rendered (a running operator keeps the policies already applied)');
    expect(run.stderr).not.to.contain('policies already applied are kept');
  });

  describe('in a terminal', () => {
    // A real pseudo-terminal (util-linux `script`), so stdout is a TTY as for a person.
    const inTerminal = (args: string[]): string => {
      const command = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
      const result = spawnSync('script', ['-qec', `${command} 2>${path.join(scratch.dir, 'stderr')}`, '/dev/null'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
      expect(result.error, 'util-linux script is needed for the terminal test').to.equal(undefined);
      return spawnSync('cat', [path.join(scratch.dir, 'stderr')], { encoding: 'utf8' }).stdout;
    };

    it('repeats the problem list after the objects, then the one-line summary', () => {
      const stderr = inTerminal(['render', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', EXAMPLE_NAMESPACES]);
      const lines = stderr.trim().split('\n').filter((line) => line !== '');
      const problems = lines.filter((line) => line.includes('namespaces.yaml: '));
      expect(problems).to.have.length(4);
      expect(problems.slice(0, 2)).to.deep.equal(problems.slice(2));
      expect(lines).to.include('render: the problems again (they were printed before the objects):');
      expect(lines.at(-1)).to.equal('render: 2 label problems; objects for everything valid were printed');
    });

    it('does not repeat them into a pipe', () => {
      const run = cli(['render', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', EXAMPLE_NAMESPACES]);
      expect(run.stderr).not.to.contain('again');
      expect(run.stderr.trim().split('\n')).to.have.length(3);
    });
  });
});
