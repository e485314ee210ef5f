// The time-compressed copy of the alert rules that end-to-end tests load into a real Prometheus.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { stringify } from 'yaml';
import {
  formatDuration,
  loadAlertRules,
  parseDuration,
  requirePromtool,
  shortenAlertRules,
  type Rule,
  type RulesFile,
} from '../support/alert-rules.js';

function ruleNamed(rules: RulesFile, alert: string): Rule {
  const rule = rules.groups.flatMap((group) => group.rules).find((candidate) => candidate.alert === alert);
  if (!rule) throw new Error(`no rule ${alert}`);
  return rule;
}

describe('shortenAlertRules (test/support/alert-rules)', () => {
  it('parses and formats Prometheus durations', () => {
    expect(parseDuration('1h30m')).to.equal(5_400_000);
    expect(parseDuration('500ms')).to.equal(500);
    expect(() => parseDuration('5 minutes')).to.throw(/not a Prometheus duration/);
    expect(formatDuration(5_000)).to.equal('5s');
    expect(formatDuration(83.3)).to.equal('83ms');
    expect(formatDuration(0.2)).to.equal('1ms');
  });

  it('scales `for:`, range selectors (with a floor) and the 24 h threshold, leaving the original alone', () => {
    const original = loadAlertRules();
    const before = structuredClone(original);
    const short = shortenAlertRules(original, { factor: 1 / 60 });

    expect(original, 'input unchanged').to.deep.equal(before);
    expect(ruleNamed(short, 'NetworkPolicyEnforcementDisabled').for).to.equal('5s');
    expect(ruleNamed(short, 'NetworkPolicyLabelInvalid').for).to.equal('10s');
    expect(ruleNamed(short, 'NetworkPolicyReconcileFailing').for).to.equal('15s');
    expect(ruleNamed(short, 'NetworkPolicyReconcileFailing').expr).to.include('[5s]');
    const long = ruleNamed(short, 'NetworkPolicyEnforcementDisabledLong');
    expect(long.expr).to.include('time() - 1440').and.not.include('86400');
    expect(long.annotations, 'annotations are copied as they are').to.deep.equal(
      ruleNamed(original, 'NetworkPolicyEnforcementDisabledLong').annotations,
    );

    const tiny = shortenAlertRules(original, { factor: 1 / 3600, minRangeSeconds: 3 });
    expect(ruleNamed(tiny, 'NetworkPolicyEnforcementDisabled').for).to.equal('83ms');
    expect(ruleNamed(tiny, 'NetworkPolicyEnforcementDisabledLong').expr).to.include('time() - 24');
    expect(ruleNamed(tiny, 'NetworkPolicyReconcileFailing').expr).to.include('[3s]');
  });

  it('refuses a factor that is not positive, and rules without the 24 h literal', () => {
    const rules = loadAlertRules();
    expect(() => shortenAlertRules(rules, { factor: 0 })).to.throw(RangeError);
    const without = structuredClone(rules);
    const long = ruleNamed(without, 'NetworkPolicyEnforcementDisabledLong');
    long.expr = long.expr.replace('86400', '24 * 3600');
    expect(() => shortenAlertRules(without, { factor: 1 / 60 })).to.throw(/86400/);
  });

  it('produces a rules file promtool accepts', () => {
    const promtool = requirePromtool();
    const dir = mkdtempSync(join(tmpdir(), 'netpol-profiles-rules-'));
    try {
      const path = join(dir, 'rules.yaml');
      writeFileSync(path, stringify(shortenAlertRules(loadAlertRules(), { factor: 1 / 3600 })));
      const result = spawnSync(promtool, ['check', 'rules', path], { encoding: 'utf8' });
      expect(result.status, `${result.stdout}${result.stderr}`).to.equal(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
