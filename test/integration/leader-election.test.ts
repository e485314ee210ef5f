// Two operator processes (the real CLI, `netpol-profiles run`) against the test API server: only
// the leader writes; a killed leader is replaced within the lease duration; SIGTERM releases the
// lease so the standby takes over within a retry period, and the process exits 0.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import type { TestApiServer } from '../support/apiserver/server.js';
import { CLI } from '../support/project.js';
import { D, eventually, expectConverged, namespace, startServerWithCatalog } from '../support/operator-harness.js';

interface Replica {
  name: string;
  child: ChildProcess;
  output: string[];
  exit: Promise<number | null>;
}

describe('leader election (integration, two processes)', function () {
  this.timeout(90_000);
  let server: TestApiServer;
  const replicas: Replica[] = [];

  beforeEach(async () => {
    server = await startServerWithCatalog();
    server.apply(namespace('shop', { [`${D}/profile`]: 'standard' }));
  });
  afterEach(async () => {
    for (const replica of replicas.splice(0)) {
      if (replica.child.exitCode === null) replica.child.kill('SIGKILL');
      await replica.exit;
    }
    await server.stop();
  });

  function startReplica(name: string): Replica {
    const kubeconfig = server.kubeconfigFor({ name, groups: ['system:masters'] });
    const child = spawn(process.execPath, [CLI, 'run', '--kubeconfig', kubeconfig, '--metrics-addr', '127.0.0.1:0', '--health-addr', '127.0.0.1:0'], {
      env: { PATH: process.env.PATH ?? '', POD_NAME: name, POD_NAMESPACE: 'netpol-profiles', NETPOL_PROFILES_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const replica = { name, child, output, exit };
    replicas.push(replica);
    return replica;
  }

  const holder = () => (server.get('coordination.k8s.io/v1', 'leases', 'netpol-profiles', 'netpol-profiles')?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;
  const policyWriters = (since: number) => new Set(server.requests.writes({ since, group: 'cilium.io' }).map((r) => r.user));

  it('only the leader writes; a killed leader is replaced within 20 s', async () => {
    const mark = server.requests.mark();
    const a = startReplica('replica-a');
    await eventually(() => expect(holder()).to.equal('replica-a'), 20_000, 'replica-a leads');
    const b = startReplica('replica-b');
    await expectConverged(server, 20_000);
    await eventually(() => expect(b.output.join('')).to.contain('caches synced'), 20_000, 'standby synced');
    server.apply(namespace('late', { [`${D}/profile`]: 'isolated' }));
    await expectConverged(server);
    expect([...policyWriters(mark)]).to.deep.equal(['replica-a']);
    // Both replicas serve metrics from their own caches; only the leader says it leads.
    for (const [replica, leader] of [[a, 1], [b, 0]] as const) {
      const port = /"metricsPort":(\d+)/.exec(replica.output.join(''))![1];
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics, replica.name).to.match(new RegExp(`^netpol_profiles_leader ${leader}$`, 'm'));
      expect(metrics, replica.name).to.contain('netpol_profiles_namespaces{profile="standard"} 1');
    }

    a.child.kill('SIGKILL');
    const killedAt = Date.now();
    await eventually(() => expect(holder()).to.equal('replica-b'), 25_000, 'replica-b takes over');
    expect(Date.now() - killedAt).to.be.below(20_000);
    const takeover = server.requests.mark();
    server.apply(namespace('after', { [`${D}/profile`]: 'internal' }));
    await expectConverged(server, 10_000);
    expect([...policyWriters(takeover)]).to.deep.equal(['replica-b']);
  });

  it('SIGTERM releases the lease: the standby takes over within 3 s and the leader exits 0 within 10 s', async () => {
    const a = startReplica('replica-a');
    await eventually(() => expect(holder()).to.equal('replica-a'), 20_000, 'replica-a leads');
    const b = startReplica('replica-b');
    await eventually(() => expect(b.output.join('')).to.contain('caches synced'), 20_000, 'standby synced');
    const termAt = Date.now();
    a.child.kill('SIGTERM');
    const takeover = eventually(() => expect(holder()).to.equal('replica-b'), 10_000, 'replica-b takes over').then(() => Date.now() - termAt);
    const code = await a.exit;
    expect(code).to.equal(0);
    expect(Date.now() - termAt).to.be.below(10_000);
    expect(await takeover).to.be.below(3_000);
    expect(a.output.join('')).not.to.match(/\n\s+at /);
  });
});
