// The alert rules of manifests/prometheus: promtool accepts them and passes the rule tests in
// test/prometheus; the PrometheusRule matches the plain rules file; runbook links resolve.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { loadAlertRules, PROJECT_ROOT, requirePromtool, RULES_PATH, type Rule } from '../support/alert-rules.js';

const PROMETHEUS_DIR = join(PROJECT_ROOT, 'manifests', 'prometheus');
const RULE_TESTS_DIR = join(PROJECT_ROOT, 'test', 'prometheus');
const RUNBOOKS_DIR = join(PROJECT_ROOT, 'docs', 'runbooks');
const RUNBOOK_BASE = 'https://github.com/netpol-profiles/netpol-profiles/blob/main/docs/runbooks/';

/** SPEC section 7. */
const EXPECTED_ALERTS: Record<string, string> = {
  NetworkPolicyEnforcementDisabled: 'warning',
  NetworkPolicyEnforcementDisabledLong: 'critical',
  NetworkPolicyLabelInvalid: 'warning',
  NetworkPolicyOperatorDown: 'critical',
  NetworkPolicyReconcileFailing: 'warning',
  NetworkPolicyCatalogInvalid: 'warning',
  NetworkPolicyNameConflict: 'warning',
};

function readYaml(path: string): unknown {
  return parse(readFileSync(path, 'utf8'));
}

function alertingRules(): Rule[] {
  return loadAlertRules().groups.flatMap((group) => group.rules);
}

function ruleTestFiles(): string[] {
  return readdirSync(RULE_TESTS_DIR)
    .filter((name) => name.endsWith('.test.yaml'))
    .sort()
    .map((name) => join('test', 'prometheus', name));
}

function runPromtool(args: string[]): void {
  const promtool = requirePromtool();
  const result = spawnSync(promtool, args, { cwd: PROJECT_ROOT, encoding: 'utf8' });
  if (result.error) throw result.error;
  const output = `${result.stdout}${result.stderr}`;
  expect(result.status, `promtool ${args.join(' ')} failed:\n${output}`).to.equal(0);
}

/** GitHub's heading anchors: lowercase, punctuation other than `-` and `_` dropped, spaces to `-`. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const line of markdown.split('\n')) {
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (!heading) continue;
    const text = (heading[1] as string).trim().toLowerCase();
    anchors.add(text.replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-'));
  }
  return anchors;
}

describe('alert rules (manifests/prometheus)', () => {
  it('pass `promtool check rules manifests/prometheus/rules.yaml`', () => {
    runPromtool(['check', 'rules', 'manifests/prometheus/rules.yaml']);
  });

  it('pass every promtool rule test in test/prometheus', () => {
    const files = ruleTestFiles();
    expect(files, 'rule test files in test/prometheus').to.have.length.greaterThan(0);
    runPromtool(['test', 'rules', ...files]);
  });

  it('are exactly the alerts of SPEC section 7, with their severities', () => {
    const severities = Object.fromEntries(alertingRules().map((rule) => [rule.alert, rule.labels?.severity]));
    expect(severities).to.deep.equal(EXPECTED_ALERTS);
  });

  it('each have a summary, a description and a runbook_url', () => {
    for (const rule of alertingRules()) {
      const annotations = rule.annotations ?? {};
      expect(Object.keys(annotations).sort(), rule.alert).to.deep.equal(['description', 'runbook_url', 'summary']);
      expect(annotations.runbook_url, rule.alert).to.match(new RegExp(`^${RUNBOOK_BASE.replace(/[.]/g, '\\.')}`));
    }
  });

  it('link runbooks that exist in docs/runbooks, down to the heading', () => {
    for (const rule of alertingRules()) {
      const url = rule.annotations?.runbook_url ?? '';
      const [file, anchor] = url.slice(RUNBOOK_BASE.length).split('#') as [string, string | undefined];
      const path = join(RUNBOOKS_DIR, file);
      expect(existsSync(path), `${rule.alert}: ${path} exists`).to.equal(true);
      if (anchor !== undefined) {
        expect([...headingAnchors(readFileSync(path, 'utf8'))], `${rule.alert}: heading #${anchor} in ${file}`).to.include(
          anchor,
        );
      }
    }
  });

  it('are each exercised by at least one promtool rule test', () => {
    const tested = new Set<string>();
    for (const file of ruleTestFiles()) {
      const doc = readYaml(join(PROJECT_ROOT, file)) as { tests?: Array<{ alert_rule_test?: Array<{ alertname: string }> }> };
      for (const test of doc.tests ?? []) for (const check of test.alert_rule_test ?? []) tested.add(check.alertname);
    }
    expect([...tested].sort()).to.include.members(Object.keys(EXPECTED_ALERTS));
  });

  it('are the same groups in the PrometheusRule as in the plain rules file', () => {
    const prometheusRule = readYaml(join(PROMETHEUS_DIR, 'prometheusrule.yaml')) as {
      apiVersion: string;
      kind: string;
      spec: { groups: unknown };
    };
    expect(prometheusRule.apiVersion).to.equal('monitoring.coreos.com/v1');
    expect(prometheusRule.kind).to.equal('PrometheusRule');
    expect(prometheusRule.spec.groups, 'prometheusrule.yaml spec.groups vs rules.yaml groups').to.deep.equal(
      (readYaml(RULES_PATH) as { groups: unknown }).groups,
    );
  });

  it('are scraped by a ServiceMonitor on the metrics Service with honorLabels, listed in the kustomization', () => {
    const monitor = readYaml(join(PROMETHEUS_DIR, 'servicemonitor.yaml')) as {
      apiVersion: string;
      kind: string;
      spec: { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string; honorLabels?: boolean }> };
    };
    expect(monitor.apiVersion).to.equal('monitoring.coreos.com/v1');
    expect(monitor.kind).to.equal('ServiceMonitor');
    expect(monitor.spec.selector.matchLabels).to.deep.equal({ 'app.kubernetes.io/name': 'netpol-profiles' });
    expect(monitor.spec.endpoints).to.have.length(1);
    expect(monitor.spec.endpoints[0]).to.include({ port: 'metrics', honorLabels: true });

    const kustomization = readYaml(join(PROMETHEUS_DIR, 'kustomization.yaml')) as { resources: string[] };
    expect(kustomization.resources).to.have.members(['prometheusrule.yaml', 'servicemonitor.yaml']);
  });

  it('have a runbook index that names the placeholder base URL and every runbook', () => {
    const index = readFileSync(join(RUNBOOKS_DIR, 'README.md'), 'utf8');
    expect(index).to.include(RUNBOOK_BASE);
    for (const file of readdirSync(RUNBOOKS_DIR).filter((name) => name !== 'README.md')) {
      expect(index, `README.md links ${file}`).to.include(`(${file}`);
    }
  });
});
