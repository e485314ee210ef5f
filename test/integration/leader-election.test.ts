// Two operator processes (the real CLI, `netpol-profiles run`) against the test API server: only
// the leader writes; a killed leader is replaced within the lease duration; SIGTERM releases the
// lease so the standby takes over within a retry period, and the process exits 0. Then the
// adversarial cases, at the default timings scaled down five times (3 s lease, 2 s renew deadline,
// 500 ms retry): a leader whose Lease requests hang, a paused leader, a lease conflict, and SIGTERM
// with the API hanging. The request log of the test API server is the judge: no replica writes
// after another acquired the lease, and `netpol_profiles_leader` never reads 1 on both.
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

  function startReplica(name: string, extraArgs: readonly string[] = []): Replica {
    const kubeconfig = server.kubeconfigFor({ name, groups: ['system:masters'] });
    const child = spawn(process.execPath, [CLI, 'run', '--kubeconfig', kubeconfig, '--metrics-addr', '127.0.0.1:0', '--health-addr', '127.0.0.1:0', ...extraArgs], {
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

  // --- adversarial: the default timings (15 s / 10 s / 2 s) scaled down ---------------------------

  const SCALED = ['--lease-duration', '3s', '--renew-deadline', '2s', '--retry-period', '500ms'];
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  async function metricsPort(replica: Replica): Promise<number> {
    let port = 0;
    await eventually(() => {
      const match = /"metricsPort":(\d+)/.exec(replica.output.join(''));
      expect(match, `${replica.name} logged its metrics port`).to.not.equal(null);
      port = Number(match![1]);
    }, 20_000);
    return port;
  }

  /** `netpol_profiles_leader` of one replica; a replica that does not answer (paused, gone) reports nothing: 0. */
  async function leaderGauge(port: number): Promise<number> {
    try {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(1_000) })).text();
      return Number(/^netpol_profiles_leader (\d)$/m.exec(text)?.[1] ?? 0);
    } catch {
      return 0;
    }
  }

  /** Scrapes both replicas' leader gauge at the same moment, every 50 ms, until stopped. */
  function sampleLeaders(ports: readonly [number, number]): { samples: Array<[number, number]>; stop(): Promise<void> } {
    const samples: Array<[number, number]> = [];
    let running = true;
    const loop = (async () => {
      while (running) {
        samples.push((await Promise.all(ports.map(leaderGauge))) as [number, number]);
        await sleep(50);
      }
    })();
    return {
      samples,
      stop: async () => {
        running = false;
        await loop;
      },
    };
  }

  /** Keeps relabelling namespaces, so the leader always has writes to make. */
  function churnLabels(): { stop(): Promise<void> } {
    let running = true;
    const profiles = ['standard', 'internal', 'isolated'];
    const loop = (async () => {
      for (let step = 0; running; step++) {
        server.apply(namespace(`churn-${step % 4}`, { [`${D}/profile`]: profiles[step % profiles.length]! }));
        await sleep(100);
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
      },
    };
  }

  /** The request of `user` that acquired the lease (its first successful Lease write). */
  const acquisition = (user: string) =>
    server.requests.query({ resource: 'leases', user, verb: ['create', 'update'] }).find((record) => record.code >= 200 && record.code < 300);
  /** Writes of `user` the API server received after request `seq`, Lease writes aside. */
  const writesAfter = (user: string, seq: number) =>
    server.requests
      .writes({ user, since: seq })
      .filter((record) => record.resource !== 'leases' && record.code !== 499)
      .map((record) => `${record.seq} ${record.verb} ${record.resource} ${record.namespace ?? ''}/${record.name ?? ''} ${record.code}`);

  async function leaderAndStandby(args: readonly string[]): Promise<[Replica, Replica]> {
    const a = startReplica('replica-a', args);
    await eventually(() => expect(holder()).to.equal('replica-a'), 20_000, 'replica-a leads');
    const b = startReplica('replica-b', args);
    await eventually(() => expect(b.output.join('')).to.contain('caches synced'), 20_000, 'standby synced');
    await expectConverged(server, 20_000);
    return [a, b];
  }

  it('a leader whose Lease requests hang steps down at the renew deadline: never two leaders, no write after the takeover', async () => {
    const [a, b] = await leaderAndStandby(SCALED);
    const sampler = sampleLeaders([await metricsPort(a), await metricsPort(b)]);
    const churn = churnLabels();
    await sleep(300);
    const held = server.faults.addLatency(300_000, { resource: 'leases', user: 'replica-a' });
    await eventually(() => expect(holder()).to.equal('replica-b'), 15_000, 'replica-b takes over');
    await eventually(() => expect(sampler.samples.at(-1)?.[1]).to.equal(1), 5_000, 'replica-b reports leading');
    const code = await Promise.race([a.exit, sleep(10_000).then(() => 'still running')]);
    await churn.stop();
    await sampler.stop();
    held.remove();
    expect(code, 'the old leader exits 1 on its own').to.equal(1);
    expect(sampler.samples.some(([first]) => first === 1), 'replica-a was seen leading').to.equal(true);
    expect(sampler.samples.filter(([first, second]) => first === 1 && second === 1), 'samples with two leaders').to.deep.equal([]);
    const acquired = acquisition('replica-b');
    expect(acquired, 'replica-b acquired the lease').to.not.equal(undefined);
    expect(writesAfter('replica-a', acquired!.seq), 'writes of the old leader after the takeover').to.deep.equal([]);
    await expectConverged(server, 20_000);
  });

  it('a leader paused past its lease sends no write when it resumes, and exits', async () => {
    const [a] = await leaderAndStandby(SCALED);
    const churn = churnLabels();
    a.child.kill('SIGSTOP');
    await eventually(() => expect(holder()).to.equal('replica-b'), 15_000, 'replica-b takes over');
    const acquired = acquisition('replica-b')!;
    await sleep(1_000);
    a.child.kill('SIGCONT');
    const code = await Promise.race([a.exit, sleep(10_000).then(() => 'still running')]);
    await churn.stop();
    expect(code).to.equal(1);
    expect(writesAfter('replica-a', acquired.seq), 'writes of the resumed leader').to.deep.equal([]);
    await expectConverged(server, 20_000);
  });

  it('a lease conflict is retried until the renew deadline: the leader keeps leading and writing', async () => {
    const a = startReplica('replica-a', SCALED);
    await eventually(() => expect(holder()).to.equal('replica-a'), 20_000, 'replica-a leads');
    await expectConverged(server, 20_000);
    const conflicts = server.faults.failNext(2, { verb: 'update', resource: 'leases', status: 409, user: 'replica-a' });
    await eventually(() => expect(conflicts.hits).to.equal(2), 5_000, 'two renewals refused with 409');
    await sleep(1_500);
    expect(a.child.exitCode, 'still running').to.equal(null);
    expect(holder()).to.equal('replica-a');
    expect(await leaderGauge(await metricsPort(a))).to.equal(1);
    server.apply(namespace('after-conflict', { [`${D}/profile`]: 'isolated' }));
    await expectConverged(server);
  });

  for (const leaseHangs of [false, true]) {
    it(`SIGTERM with ${leaseHangs ? 'writes and the Lease' : 'writes'} hanging: exits 0 within 10 s, ${leaseHangs ? 'leaving the lease to expire' : 'releasing the lease'}`, async () => {
      const a = startReplica('replica-a');
      await eventually(() => expect(holder()).to.equal('replica-a'), 20_000, 'replica-a leads');
      await expectConverged(server, 20_000);
      server.faults.addLatency(300_000, { group: 'cilium.io', verb: ['create', 'update', 'delete'], user: 'replica-a' });
      if (leaseHangs) server.faults.addLatency(300_000, { resource: 'leases', user: 'replica-a' });
      // Five label changes: four creates held in flight (concurrency 4), one queued behind them.
      for (let i = 0; i < 5; i++) server.apply(namespace(`busy-${i}`, { [`${D}/profile`]: 'standard' }));
      await sleep(1_000);
      const termAt = Date.now();
      a.child.kill('SIGTERM');
      const code = await Promise.race([a.exit, sleep(15_000).then(() => 'still running 15 s after SIGTERM')]);
      const took = Date.now() - termAt;
      expect(code).to.equal(0);
      expect(took).to.be.below(10_000);
      expect(holder()).to.equal(leaseHangs ? 'replica-a' : '');
      expect(a.output.join('')).not.to.match(/\n\s+at /);
    });
  }
});
