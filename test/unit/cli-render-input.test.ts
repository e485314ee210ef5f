// `render` on hostile or careless input, as a user runs it (the built CLI in a child process): input
// too large or endless, nesting too deep, names and label values the API server would refuse, and
// catalogs whose generated names would collide. One clear line per problem, exit 1, nothing printed,
// never a stack trace.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { truncateSync } from 'node:fs';
import { scratchDirectory } from '../support/cli.js';
import { CLI, DEFAULT_CATALOG_DIR, PROJECT_ROOT } from '../support/project.js';

const D = 'network-policy.homelab';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function render(args: string[], input = ''): Run {
  const result = spawnSync(process.execPath, ['--max-old-space-size=512', CLI, 'render', ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    input,
    maxBuffer: 64 * 1024 * 1024,
    env: { PATH: process.env.PATH ?? '' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function expectRefused(run: Run, ...lines: RegExp[]): void {
  expect(run.stderr).not.to.match(/\n\s+at .+:\d+:\d+|Maximum call stack|heap out of memory/);
  expect(run.code, run.stderr).to.equal(1);
  expect(run.stdout, 'nothing rendered').to.equal('');
  for (const line of lines) expect(run.stderr).to.match(line);
}

describe('render: input limits and clear messages', function () {
  this.timeout(60_000);
  const scratch = scratchDirectory('netpol-render-input-');
  const file = scratch.file;


  it('refuses an input larger than 32 MiB without reading it', () => {
    const big = file('big.yaml', '');
    truncateSync(big, 50 * 1024 * 1024);
    expectRefused(render(['--catalog', DEFAULT_CATALOG_DIR, '--namespaces', big]), /big\.yaml: file: cannot read: larger than 32 MiB \(50 MiB\); render reads at most 32 MiB of input/);
  });

  it('stops reading an endless input (/dev/zero, or stdin) at 32 MiB', () => {
    expectRefused(render(['--catalog', '/dev/zero']), /^\/dev\/zero: file: cannot read: larger than 32 MiB; render reads at most 32 MiB of input$/m);
    expectRefused(render(['--catalog', DEFAULT_CATALOG_DIR, '--namespaces', '-'], '#'.repeat(33 * 1024 * 1024)), /^<stdin>: file: cannot read: larger than 32 MiB/m);
  });

  it('reports deep nesting as such, not as a stack overflow', () => {
    const deep = file('deep.yaml', `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: deep\n  labels: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`);
    expectRefused(render(['--catalog', DEFAULT_CATALOG_DIR, '--namespaces', deep]), /deep\.yaml: document 1: is nested too deeply to read/);
    const nested = file('nested.json', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', labels: JSON.parse(`${'{"a":'.repeat(150)}1${'}'.repeat(150)}`) } }));
    expectRefused(render(['--catalog', DEFAULT_CATALOG_DIR, '--namespaces', nested]), /nested\.json: document 1: is nested more than 100 levels deep/);
  });

  it('names a wrong type as it is: a number is not a missing name, an object is "an object"', () => {
    const namespaces = file('ns.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: 12345\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    team: {name: web}\n---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: web\n');
    expectRefused(
      render(['--catalog', DEFAULT_CATALOG_DIR, '--namespaces', namespaces]),
      /ns\.yaml: document 1: Namespace metadata\.name must be a string, not a number \(quote it: "12345"\)/,
      /ns\.yaml: shop: label team: value "\{\\"name\\":\\"web\\"\}" is an object, not a string$/m,
      /ns\.yaml: Ingress\/web: is an Ingress; expected a Namespace or a catalog kind/,
    );
  });

  it('refuses label values the API server would refuse as input problems, not label problems', () => {
    const namespaces = file('ns.yaml', `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    access.${D}/postgres: " true"\n    note: "${'a'.repeat(73)}"\n`);
    const run = render(['--catalog', DEFAULT_CATALOG_DIR, '--namespaces', namespaces]);
    expectRefused(
      run,
      /ns\.yaml: shop: label access\.network-policy\.homelab\/postgres: value " true" is not a valid label value .*the API server would refuse it/,
      /ns\.yaml: shop: label note: value "a{40}…" \(73 characters\) is not a valid label value/,
      /render: 2 input problems; nothing rendered/,
    );
  });

  it('refuses a catalog whose generated names would collide (SharedService web-ingress next to web)', () => {
    const catalog = file(
      'services.yaml',
      [
        { name: 'web', spec: { namespace: 'webns', ports: [{ port: '80' }], manageIngress: true } },
        { name: 'web-ingress', spec: { namespace: 'other', ports: [{ port: '443' }] } },
      ]
        .map((s) => JSON.stringify({ apiVersion: `${D}/v1alpha1`, kind: 'SharedService', metadata: { name: s.name }, spec: s.spec }))
        .join('\n---\n'),
    );
    const namespaces = file('ns.yaml', `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: webns\n  labels:\n    access.${D}/web-ingress: "true"\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    access.${D}/web: "true"\n`);
    expectRefused(render(['--catalog', catalog, '--namespaces', namespaces]), /services\.yaml: SharedService\/web-ingress: metadata\.name "web-ingress" may not end in -ingress/);
  });
});
