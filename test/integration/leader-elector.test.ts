// The LeaderElector in-process against the test API server, with its clock in the test's hands: the
// fence refuses writes from the renew deadline on, before the watchdog has had a chance to run
// (what a paused or starved process sees when it resumes), and release on shutdown is bounded.
import { expect } from 'chai';
import { HttpKubeApi } from '../../src/kube/http-api.js';
import { LeaderElector, NotLeaderError, type Lease } from '../../src/kube/leader.js';
import type { TestApiServer } from '../support/apiserver/server.js';
import { eventually, startServerWithCatalog } from '../support/operator-harness.js';

describe('LeaderElector (integration, in-process)', function () {
  this.timeout(30_000);
  let server: TestApiServer;
  let api: HttpKubeApi;
  const electors: LeaderElector[] = [];

  beforeEach(async () => {
    server = await startServerWithCatalog();
    api = new HttpKubeApi(server.kubeConfig());
  });
  afterEach(async () => {
    for (const elector of electors.splice(0)) await elector.stop(100);
    api.close();
    await server.stop();
  });

  function elector(now: () => number, events: string[]): LeaderElector {
    const created = new LeaderElector({
      api,
      namespace: 'netpol-profiles',
      name: 'netpol-profiles',
      identity: 'me',
      leaseDurationMs: 3_000,
      renewDeadlineMs: 2_000,
      retryPeriodMs: 500,
      now,
      onStartedLeading: () => events.push('started'),
      onStoppedLeading: (reason) => events.push(`stopped: ${reason}`),
    });
    electors.push(created);
    return created;
  }

  const holder = () => (server.get('coordination.k8s.io/v1', 'leases', 'netpol-profiles', 'netpol-profiles') as Lease | undefined)?.spec?.holderIdentity;

  it('refuses writes from the renew deadline on, even before its watchdog has run', async () => {
    let skew = 0;
    const events: string[] = [];
    const leader = elector(() => performance.now() + skew, events);
    leader.start();
    await eventually(() => expect(events).to.deep.equal(['started']));
    expect(() => leader.checkCanWrite()).not.to.throw();
    expect(leader.isLeader()).to.equal(true);
    // The process "wakes up" 2.5 s later: its clock jumped past the deadline, no timer has fired.
    skew = 2_500;
    expect(() => leader.checkCanWrite()).to.throw(NotLeaderError, /lease not renewed for \d+ ms \(renew deadline 2000 ms\); write not sent/);
    expect(leader.isLeader()).to.equal(false);
  });

  it('steps down at the renew deadline while its renewals hang, and gives the lease up to expire', async () => {
    const events: string[] = [];
    const leader = elector(() => performance.now(), events);
    leader.start();
    await eventually(() => expect(events).to.deep.equal(['started']));
    const heldFrom = performance.now();
    server.faults.addLatency(60_000, { resource: 'leases' });
    await eventually(() => expect(events).to.have.length(2), 8_000);
    expect(events[1]).to.match(/^stopped: lease not renewed within the renew deadline \(2000 ms\)/);
    // At the renew deadline (2 s after the last renewal was sent, itself before the hold), not when
    // the hung request would time out (30 s) or be answered (60 s); the rest is slack for a busy machine.
    expect(performance.now() - heldFrom).to.be.below(5_000);
    expect(() => leader.checkCanWrite()).to.throw(NotLeaderError);
    expect(holder(), 'not released: the API does not answer').to.equal('me');
  });

  it('releases the lease on stop when the API answers, within its budget when it does not', async () => {
    const events: string[] = [];
    const first = elector(() => performance.now(), events);
    first.start();
    await eventually(() => expect(holder()).to.equal('me'));
    await first.stop(2_000);
    expect(holder()).to.equal('');

    const second = elector(() => performance.now(), events);
    second.start();
    await eventually(() => expect(holder()).to.equal('me'));
    server.faults.addLatency(60_000, { resource: 'leases' });
    const stopping = performance.now();
    await second.stop(300);
    expect(performance.now() - stopping).to.be.below(2_000);
    expect(holder()).to.equal('me');
  });
});
