// The standalone server (`npm run apiserver`): CRDs loaded, kubeconfig printed, admin endpoint, clean exit on SIGTERM.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { projectCrdFiles, projectRoot } from '../support/apiserver/crds.js';
import { loadCrdFiles } from '../support/apiserver/crd-schema.js';
import { KUBECTL, eventually, requireKubectl } from './support.js';

describe('apiserver: standalone process', function () {
  let child: ChildProcess;
  let output = '';

  before(async () => {
    requireKubectl();
    child = spawn(process.execPath, [path.join(projectRoot(), 'dist/test/support/apiserver/main.js')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await eventually(() => (/kubeconfig: \S+/.test(output) ? true : undefined), 'the kubeconfig path on stdout', 10_000);
  });
  after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
  });

  const kubeconfigPath = () => /kubeconfig: (\S+)/.exec(output)![1]!;

  it('serves Cilium\'s and the project\'s CRDs to kubectl', async () => {
    const out = await new Promise<string>((resolve, reject) => {
      const k = spawn(KUBECTL, ['--kubeconfig', kubeconfigPath(), '--cache-dir', path.join(path.dirname(kubeconfigPath()), 'cache'), 'get', 'crd', '-o', 'name']);
      let text = '';
      k.stdout.on('data', (d: Buffer) => (text += d.toString()));
      k.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`kubectl exited ${code}`))));
    });
    const expected = [
      'ciliumclusterwidenetworkpolicies.cilium.io',
      'ciliumnetworkpolicies.cilium.io',
      ...loadCrdFiles(projectCrdFiles()).map((c) => c.metadata.name),
    ];
    expect(out.trim().split('\n').map((l) => l.replace('customresourcedefinition.apiextensions.k8s.io/', '')).sort()).to.deep.equal(expected.sort());
  });

  it('takes faults over its admin endpoint', async () => {
    const kubeconfig = parse(readFileSync(kubeconfigPath(), 'utf8')) as { clusters: { cluster: { server: string } }[] };
    const base = kubeconfig.clusters[0]!.cluster.server;
    const admin = await fetch(`${base}/__admin/failNext`, {
      method: 'POST',
      body: JSON.stringify({ count: 1, verb: 'list', resource: 'namespaces', status: 503 }),
    });
    expect(admin.status).to.equal(200);
    expect((await fetch(`${base}/api/v1/namespaces`)).status).to.equal(503);
    expect((await fetch(`${base}/api/v1/namespaces`)).status).to.equal(200);
    const counters = (await (await fetch(`${base}/__admin/counters`)).json()) as Record<string, number>;
    expect(counters['list namespaces']).to.equal(2);
  });

  it('exits 0 on SIGTERM and removes its kubeconfig', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).to.equal(0);
    expect(existsSync(kubeconfigPath())).to.equal(false);
  });
});
