// The operator under API faults: closed, expired and stalled watches, failing and throttled writes,
// conflicts, and a chaos run of label churn with random faults. Each must converge to exactly what
// the renderer says, with no orphans, once the faults stop.
import { expect } from 'chai';
import type { TestApiServer } from '../support/apiserver/server.js';
import { seededRandom } from '../support/apiserver/faults.js';
import { D, eventually, expectConverged, namespace, startOperator, startServerWithCatalog, type RunningOperator } from '../support/operator-harness.js';

const PROFILES = ['isolated', 'internal', 'internal-egress', 'standard', 'standrad'];
const SERVICES = ['postgres', 'dragonfly', 'garage-s3', 'kube-api'];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('operator under faults (integration)', function () {
  this.timeout(90_000);
  let server: TestApiServer;
  let running: RunningOperator | undefined;

  beforeEach(async () => {
    server = await startServerWithCatalog();
    for (let i = 0; i < 10; i++) server.apply(namespace(`app-${i}`, { [`${D}/profile`]: 'standard' }));
  });
  afterEach(async () => {
    server.faults.clear();
    await running?.stop();
    running = undefined;
    await server.stop();
  });

  const relabel = (i: number, profile: string, extra: Record<string, string> = {}) =>
    server.apply(namespace(`app-${i}`, { [`${D}/profile`]: profile, ...extra }));

  it('keeps up while every watch is closed every few hundred milliseconds', async () => {
    running = await startOperator(server);
    await expectConverged(server);
    for (let round = 0; round < 8; round++) {
      server.faults.closeWatches();
      relabel(round, round % 2 ? 'internal' : 'isolated');
      await sleep(150);
    }
    await expectConverged(server);
    const restarts = await running.metrics.registry.getSingleMetricAsString('netpol_profiles_watch_restarts_total');
    expect(restarts).to.match(/resource="namespaces",reason="closed"} [1-9]/);
  });

  it('relists after its watch position expired (410) and heals changes it missed, deletes included', async () => {
    running = await startOperator(server);
    await expectConverged(server);
    const stall = server.faults.stallWatches({}, true);
    relabel(1, 'internal');
    server.delete('v1', 'namespaces', undefined, 'app-2');
    await eventually(() => expect(server.get('v1', 'namespaces', undefined, 'app-2')).to.equal(undefined));
    server.faults.compactHistory();
    stall.remove();
    server.faults.closeWatches();
    await expectConverged(server);
    const restarts = await running.metrics.registry.getSingleMetricAsString('netpol_profiles_watch_restarts_total');
    expect(restarts).to.match(/reason="gone"} [1-9]/);
  });

  it('relists when a watch stalls (no event or bookmark) past the stall timeout', async () => {
    running = await startOperator(server, { cache: { stallTimeoutMs: 800, backoffBaseMs: 20, backoffCapMs: 200 } });
    await expectConverged(server);
    const stall = server.faults.stallWatches({ resource: 'namespaces' });
    relabel(3, 'isolated');
    await expectConverged(server, 15_000);
    stall.remove();
    const restarts = await running.metrics.registry.getSingleMetricAsString('netpol_profiles_watch_restarts_total');
    expect(restarts).to.match(/resource="namespaces",reason="stall"} [1-9]/);
  });

  it('converges while 20% of writes fail with 500 or 503', async () => {
    server.faults.seed(7);
    server.faults.failRandomly(0.1, { status: 500, verb: ['create', 'update', 'delete'], group: 'cilium.io' });
    server.faults.failRandomly(0.1, { status: 503, verb: ['create', 'update', 'delete'], group: 'cilium.io' });
    running = await startOperator(server);
    for (let i = 0; i < 10; i++) relabel(i, PROFILES[i % 4]!, { [`access.${D}/${SERVICES[i % 4]}`]: 'true' });
    await expectConverged(server, 30_000);
    const failed = server.requests.writes({ group: 'cilium.io' }).filter((r) => r.injected);
    expect(failed.length).to.be.greaterThan(0);
  });

  it('honours Retry-After on 429', async () => {
    running = await startOperator(server);
    await expectConverged(server);
    const mark = server.requests.mark();
    server.faults.failNext(1, { status: 429, retryAfterSeconds: 1, verb: 'create', resource: 'ciliumnetworkpolicies' });
    server.apply(namespace('late', { [`${D}/profile`]: 'isolated' }));
    await expectConverged(server);
    const creates = server.requests.query({ since: mark, verb: 'create', resource: 'ciliumnetworkpolicies' });
    expect(creates.map((r) => r.code)).to.deep.equal([429, 201]);
    expect(creates[1]!.time - creates[0]!.time).to.be.at.least(1000);
  });

  it('recovers from 409 conflicts on update', async () => {
    running = await startOperator(server);
    await expectConverged(server);
    server.faults.failNext(3, { status: 409, verb: 'update', resource: 'ciliumnetworkpolicies' });
    const profile = server.get(`${D}/v1alpha1`, 'networkprofiles', undefined, 'standard')!;
    server.apply({ ...profile, spec: { ...(profile.spec as object), description: 'changed' } });
    const { egress: _egress, ...withoutEgress } = profile.spec as Record<string, unknown>;
    server.apply({ ...profile, spec: withoutEgress });
    await expectConverged(server);
  });

  it('chaos: an API outage during grant churn, then converges within a minute of recovery without any further event', async function () {
    this.timeout(120_000);
    server.apply(namespace('webns'));
    server.apply({
      apiVersion: `${D}/v1alpha1`,
      kind: 'SharedService',
      metadata: { name: 'web' },
      spec: { namespace: 'webns', podSelector: { matchLabels: { app: 'web' } }, ports: [{ port: '8080', protocol: 'TCP' }], manageIngress: true },
    });
    running = await startOperator(server);
    await expectConverged(server);
    // 15 s in which every policy write fails with 500, while grants of `web` are toggled 60 times:
    // every toggle runs the keys at once, and every run fails.
    const outage = server.faults.failRandomly(1, { status: 500, group: 'cilium.io', verb: ['create', 'update', 'delete'] });
    const random = seededRandom(3);
    for (let step = 0; step < 60; step++) {
      relabel(Math.floor(random() * 10), 'standard', random() < 0.5 ? { [`access.${D}/web`]: 'true' } : {});
      await sleep(250);
    }
    outage.remove();
    expect(outage.hits, 'writes failed during the outage').to.be.greaterThan(20);
    // Nothing changes any more: only the retries the queue scheduled can bring the cluster back.
    await expectConverged(server, 60_000);
  });

  it('chaos: random label churn under random faults, then converges exactly with no orphans', async () => {
    const random = seededRandom(42);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    server.faults.seed(42);
    const faults = [
      server.faults.failRandomly(0.15, { status: 500, verb: ['create', 'update', 'delete', 'patch'] }),
      server.faults.failRandomly(0.05, { status: 429, retryAfterSeconds: 1, verb: ['create', 'update'] }),
      server.faults.failRandomly(0.05, { status: 409, verb: 'update' }),
      server.faults.addLatency(5, { verb: 'create' }),
    ];
    running = await startOperator(server);
    const deadline = Date.now() + 6_000;
    let step = 0;
    while (Date.now() < deadline) {
      const i = Math.floor(random() * 15);
      const labels: Record<string, string> = {};
      if (random() < 0.8) labels[`${D}/profile`] = pick(PROFILES);
      for (const service of SERVICES) if (random() < 0.3) labels[`access.${D}/${service}`] = pick(['true', 'true', 'false', 'yes']);
      if (random() < 0.1) labels[`${D}/enforcement`] = 'disabled';
      if (random() < 0.05 && i > 9) server.delete('v1', 'namespaces', undefined, `app-${i}`);
      else server.apply(namespace(`app-${i}`, labels));
      if (step % 10 === 0) server.faults.closeWatches();
      if (step % 25 === 0) server.faults.compactHistory();
      step++;
      await sleep(20);
    }
    for (const fault of faults) fault.remove();
    server.faults.closeWatches();
    // The typo profile keeps whatever was applied before it: replace typos so the expectation is exact.
    for (const ns of server.list('v1', 'namespaces')) {
      const labels = { ...(ns.metadata?.labels as Record<string, string>) };
      if (labels[`${D}/profile`] === 'standrad') {
        labels[`${D}/profile`] = 'isolated';
        server.apply({ ...ns, metadata: { ...ns.metadata, labels } });
      }
    }
    await expectConverged(server, 60_000);
  });
});
