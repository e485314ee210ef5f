// `netpol-profiles run` as a process: usage errors, shadow mode (--dry-run writes nothing but logs
// every change), and the health and metrics endpoints.
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import type { TestApiServer } from '../support/apiserver/server.js';
import { CLI } from '../support/project.js';
import { D, eventually, namespace, startServerWithCatalog } from '../support/operator-harness.js';

describe('run command', function () {
  this.timeout(60_000);

  describe('usage errors: one line, exit 2, no stack trace', () => {
    const cases: Array<[string, string[], RegExp]> = [
      ['an unknown flag', ['--frobnicate'], /run: unknown flag --frobnicate/],
      ['a bad duration', ['--lease-duration', '15'], /--lease-duration "15" is not a duration/],
      ['inconsistent leader election timings', ['--retry-period', '20s'], /--retry-period < --renew-deadline < --lease-duration/],
      ['an empty --leader-elect (it never turns leader election off)', ['--leader-elect='], /--leader-elect must be true or false, not ""/],
      ['a mistyped --leader-elect', ['--leader-elect', 'no'], /--leader-elect must be true or false, not "no"/],
      ['a bad concurrency', ['--concurrency', '0'], /--concurrency must be a whole number/],
      ['a stall timeout below a second', ['--watch-stall-timeout', '500ms'], /--watch-stall-timeout must be at least 1s/],
      ['a resync period that would keep it busy', ['--resync-period', '5s'], /--resync-period must be 0s \(never\) or at least 10s/],
      ['a bad address', ['--metrics-addr', 'localhost'], /--metrics-addr "localhost" is not HOST:PORT/],
      ['a missing kubeconfig', ['--kubeconfig', '/nonexistent/kubeconfig'], /cannot load Kubernetes configuration from \/nonexistent\/kubeconfig/],
    ];
    for (const [what, args, expected] of cases) {
      it(what, () => {
        // Bounded: a flag that were accepted would start the operator, which runs until stopped.
        const run = spawnSync(process.execPath, [CLI, 'run', ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent' }, timeout: 15_000 });
        expect(run.status, run.stderr).to.equal(2);
        expect(run.stderr).to.match(expected);
        expect(run.stderr).not.to.match(/\n\s+at /);
      });
    }
  });

  describe('against the test API server', () => {
    let server: TestApiServer;
    beforeEach(async () => {
      server = await startServerWithCatalog();
      server.apply(namespace('shop', { [`${D}/profile`]: 'standard' }));
    });
    afterEach(() => server.stop());

    it('a dry-run leader says so on its Lease, and status reports it as a finding (shadow mode keeps nothing in sync)', async () => {
      const child = spawn(
        process.execPath,
        [CLI, 'run', '--kubeconfig', server.kubeconfigPath, '--dry-run', '--metrics-addr', '127.0.0.1:0', '--health-addr', '127.0.0.1:0'],
        { env: { PATH: process.env.PATH ?? '', POD_NAME: 'shadow-0', POD_NAMESPACE: 'netpol-profiles' }, stdio: 'ignore' },
      );
      const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      try {
        await eventually(() => {
          const lease = server.get('coordination.k8s.io/v1', 'leases', 'netpol-profiles', 'netpol-profiles');
          expect((lease?.spec as { holderIdentity?: string } | undefined)?.holderIdentity).to.equal('shadow-0');
          expect(lease?.metadata?.annotations?.['netpol-profiles/mode']).to.equal('dry-run');
        }, 20_000);
        const status = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
          const run = spawn(process.execPath, [CLI, 'status', '--kubeconfig', server.kubeconfigPath], { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'ignore'] });
          let stdout = '';
          run.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
          run.once('close', (code) => resolve({ code, stdout }));
        });
        expect(status.code).to.equal(1);
        expect(status.stdout.split('\n')[0]).to.match(/^operator: shadow-0 is leading in DRY-RUN \(shadow\) mode, writing nothing \(lease/);
        expect(status.stdout).to.contain('cluster: the leader shadow-0 runs in dry-run (shadow) mode: it logs what it would do and writes nothing');
        expect(server.requests.writes({ group: 'cilium.io' })).to.deep.equal([]);
      } finally {
        child.kill('SIGTERM');
        expect(await exit).to.equal(0);
      }
    });

    it('--dry-run logs every change as JSON lines and writes nothing; serves /healthz, /readyz and /metrics', async () => {
      const child = spawn(
        process.execPath,
        [CLI, 'run', '--kubeconfig', server.kubeconfigPath, '--dry-run', '--leader-elect', 'false', '--metrics-addr', '127.0.0.1:0', '--health-addr', '127.0.0.1:0'],
        { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const lines: string[] = [];
      let buffer = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const parts = buffer.split('\n');
        buffer = parts.pop()!;
        lines.push(...parts);
      });
      const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      try {
        type Entry = { level: string; message: string; object?: string; timestamp: string; metricsPort?: number; healthPort?: number };
        const logged = (): Entry[] => lines.map((line) => JSON.parse(line) as Entry);
        await eventually(() => {
          const wouldCreate = logged().filter((e) => e.message === 'dry-run: would create').map((e) => e.object);
          expect(wouldCreate).to.include.members(['shop/profile-standard', 'escape-hatch-allow-all']);
        }, 20_000);
        expect(logged().every((entry) => typeof entry.timestamp === 'string' && typeof entry.level === 'string')).to.equal(true);
        const { metricsPort, healthPort } = logged().find((e) => e.message === 'starting')!;
        expect(server.requests.writes({ group: 'cilium.io' })).to.deep.equal([]);
        expect(server.list('cilium.io/v2', 'ciliumnetworkpolicies')).to.deep.equal([]);

        expect((await fetch(`http://127.0.0.1:${healthPort}/healthz`)).status).to.equal(200);
        expect((await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status).to.equal(200);
        const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        expect(metrics).to.contain('netpol_profiles_build_info{version=').and.contain('netpol_profiles_namespaces{profile="standard"} 1');
        expect(metrics).to.contain('process_resident_memory_bytes');
      } finally {
        child.kill('SIGTERM');
        expect(await exit).to.equal(0);
      }
    });
  });
});
