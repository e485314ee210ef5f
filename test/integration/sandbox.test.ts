// `npm run sandbox -- --tour` as a newcomer runs it: two operator replicas with leader election,
// logs in files, and the tour's steps each showing what they say (label → policy → typo → hatch →
// status), exit 0.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../support/project.js';

describe('sandbox tour', function () {
  this.timeout(120_000);

  it('walks through label, policy, typo, escape hatch and status with a real leader, and exits 0', async () => {
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist/tools/sandbox.js'), '--tour'], { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, output).to.equal(0);
    expect(output).not.to.contain('✗ expected');
    expect(output).to.match(/\$ kubectl get cnp -n tour\n(.*\n)*?\s+profile-standard /);
    expect(output).to.match(/Warning\s+UnknownProfile\s+namespace\/tour/);
    expect(output).to.contain('UnknownLabelKey: network-policy.homelab/profiel: not a label netpol-profiles knows, so it is ignored; did you mean network-policy.homelab/profile?');
    expect(output).to.match(/Warning\s+EnforcementDisabled\s+namespace\/tour/);
    // status sees a real leader (leader election is on), then the fix, then all clear.
    expect(output).to.match(/operator: netpol-profiles-[01] is leading \(lease netpol-profiles\/netpol-profiles/);
    expect(output).to.contain('fix: once the cause is fixed, remove the label in git and in the cluster: kubectl label namespace tour network-policy.homelab/enforcement-');
    expect(output).to.contain('all in sync and enforced');
    // The operators' JSON logs went to their files, not into the tour.
    expect(output).not.to.match(/^\s*\{"/m);
    for (const replica of ['netpol-profiles-0', 'netpol-profiles-1']) {
      const log = path.join(PROJECT_ROOT, '.sandbox', `${replica}.log`);
      expect(existsSync(log), log).to.equal(true);
      expect(readFileSync(log, 'utf8')).to.contain('"message":"starting"');
    }
    const logs = ['netpol-profiles-0', 'netpol-profiles-1'].map((replica) => readFileSync(path.join(PROJECT_ROOT, '.sandbox', `${replica}.log`), 'utf8'));
    expect(logs.filter((log) => log.includes('"message":"became leader"')), 'exactly one replica led').to.have.length(1);
  });
});
