// Status output: the table people read (operator line, kubectl-style columns, cluster-wide summary,
// one line per finding, a verdict) and the JSON scripts read, both deterministic.
import { expect } from 'chai';
import { formatStatus, summarizePolicies } from '../../src/status/format.js';
import type { NamespaceStatus, PolicyStatus, StatusReport } from '../../src/status/report.js';

const CNP = 'CiliumNetworkPolicy';
const CCNP = 'CiliumClusterwideNetworkPolicy';
const policy = (kind: PolicyStatus['kind'], name: string, state: PolicyStatus['state']): PolicyStatus => ({ kind, name, state, generatedFrom: null });

function namespace(name: string, overrides: Partial<NamespaceStatus> = {}): NamespaceStatus {
  return {
    name,
    protected: false,
    profile: { label: null, state: 'none' },
    access: [],
    enforcement: { state: 'enforced', since: null, disabledForSeconds: null },
    policies: [],
    labelErrors: [],
    foreignPolicies: [],
    findings: 0,
    ...overrides,
  };
}

function report(overrides: Partial<StatusReport> = {}): StatusReport {
  return {
    time: '2026-11-21T12:00:00Z',
    namespaceFilter: null,
    operator: {
      lease: 'netpol-profiles/netpol-profiles',
      leaseExists: true,
      holder: 'netpol-profiles-6d4f9-x2x7q',
      renewTime: '2026-11-21T11:59:57.000000Z',
      renewedSecondsAgo: 3,
      leaseDurationSeconds: 15,
      leading: true,
      mode: 'enforce',
    },
    namespaces: [
      namespace('kube-system', { protected: true }),
      namespace('shop', {
        profile: { label: 'standard', state: 'valid' },
        access: ['dragonfly', 'postgres'],
        policies: [policy(CNP, 'access-dragonfly', 'in-sync'), policy(CNP, 'access-postgres', 'in-sync'), policy(CNP, 'profile-standard', 'in-sync')],
      }),
    ],
    cluster: { policies: [policy(CCNP, 'baseline-dns', 'in-sync'), policy(CCNP, 'escape-hatch-allow-all', 'in-sync')], catalogProblems: [] },
    findings: [],
    counts: { namespaces: 2, findings: 0, policies: { conflict: 0, missing: 0, drifted: 0, extra: 0, kept: 0, 'in-sync': 5 } },
    ...overrides,
  };
}

describe('status output', () => {
  it('table: everything in sync and enforced', () => {
    expect(formatStatus(report(), 'table')).to.equal(
      [
        'operator: netpol-profiles-6d4f9-x2x7q is leading (lease netpol-profiles/netpol-profiles renewed 3s ago, valid for 15s)',
        'NAMESPACE     PROFILE       ACCESS               ENFORCEMENT   POLICIES    FINDINGS',
        'kube-system   (protected)   -                    enforced      -           -',
        'shop          standard      dragonfly,postgres   enforced      3 in sync   -',
        '',
        'cluster-wide policies: 2 in sync',
        '',
        'all in sync and enforced',
        '',
      ].join('\n'),
    );
  });

  it('table: states summarised problems first, profile states, enforcement, and one line per finding', () => {
    const text = formatStatus(
      report({
        operator: { lease: 'netpol-profiles/netpol-profiles', leaseExists: false, holder: null, renewTime: null, renewedSecondsAgo: null, leaseDurationSeconds: null, leading: false, mode: null },
        namespaces: [
          namespace('legacy', {
            profile: { label: 'internal', state: 'valid' },
            enforcement: { state: 'disabled', since: '2026-11-20T10:00:00Z', disabledForSeconds: 93_600 },
            policies: [policy(CNP, 'profile-internal', 'in-sync')],
            findings: 1,
          }),
          namespace('new', { enforcement: { state: 'disabled', since: null, disabledForSeconds: null }, findings: 1 }),
          namespace('shop', {
            profile: { label: 'standrad', state: 'invalid' },
            policies: [policy(CNP, 'access-postgres', 'in-sync'), policy(CNP, 'access-redis', 'extra'), policy(CNP, 'profile-standard', 'kept'), policy(CNP, 'x', 'missing')],
            foreignPolicies: [{ name: 'allow-all', checked: true, wideningIngressRules: 1, wideningEgressRules: 0 }],
            findings: 4,
          }),
        ],
        cluster: { policies: [policy(CCNP, 'baseline-dns', 'drifted'), policy(CCNP, 'escape-hatch-allow-all', 'in-sync')], catalogProblems: [] },
        findings: [
          { kind: 'no-leader', message: 'no operator is leading: Lease netpol-profiles/netpol-profiles does not exist', fix: 'f1' },
          { kind: 'catalog-problem', object: 'NetworkProfile/broken', message: 'NetworkProfile/broken: spec.ingress[0].fromEntitie: unknown field', fix: 'f2' },
          { kind: 'drifted', object: `${CCNP}/baseline-dns`, message: `${CCNP} baseline-dns has drifted (spec differs)`, fix: 'f3' },
          { namespace: 'legacy', kind: 'enforcement-disabled', message: 'enforcement disabled since 2026-11-20T10:00:00Z (1d 2h ago)', fix: 'f4' },
          { namespace: 'shop', kind: 'missing', object: `${CNP}/x`, message: `${CNP} x is missing`, fix: 'f5' },
          { namespace: 'shop', kind: 'foreign-policy', object: `${CNP}/allow-all`, message: 'foreign CiliumNetworkPolicy allow-all widens the profile: 1 ingress and 0 egress rules', fix: 'f6' },
        ],
      }),
      'table',
    );
    expect(text.split('\n')).to.deep.equal([
      'operator: no leader (no lease netpol-profiles/netpol-profiles)',
      'NAMESPACE   PROFILE              ACCESS   ENFORCEMENT               POLICIES                                           FINDINGS',
      'legacy      internal             -        disabled 1d 2h            1 in sync                                          1',
      'new         -                    -        disabled (not recorded)   -                                                  1',
      'shop        standrad (invalid)   -        enforced                  1 missing, 1 extra, 1 kept, 1 in sync, 1 foreign   4',
      '',
      'cluster-wide policies: 1 drifted, 1 in sync',
      '',
      'cluster: no operator is leading: Lease netpol-profiles/netpol-profiles does not exist',
      '  fix: f1',
      'catalog: NetworkProfile/broken: spec.ingress[0].fromEntitie: unknown field',
      '  fix: f2',
      `cluster: ${CCNP} baseline-dns has drifted (spec differs)`,
      '  fix: f3',
      'legacy: enforcement disabled since 2026-11-20T10:00:00Z (1d 2h ago)',
      '  fix: f4',
      `shop: ${CNP} x is missing`,
      '  fix: f5',
      'shop: foreign CiliumNetworkPolicy allow-all widens the profile: 1 ingress and 0 egress rules',
      '  fix: f6',
      '6 findings',
      '',
    ]);
  });

  it('table: a stale lease names its last holder', () => {
    const text = formatStatus(
      report({
        operator: { lease: 'ops/netpol-profiles', leaseExists: true, holder: 'op-1', renewTime: 'x', renewedSecondsAgo: 600, leaseDurationSeconds: 15, leading: false, mode: null },
        findings: [{ kind: 'no-leader', message: 'no operator is leading: …', fix: 'look' }],
      }),
      'table',
    );
    expect(text.split('\n')[0]).to.equal('operator: no leader (lease ops/netpol-profiles held by op-1, last renewed 10m 0s ago)');
    expect(text.trimEnd().split('\n').at(-1)).to.equal('1 finding');
  });

  it('table: a leader in dry-run says so on the operator line', () => {
    const base = report();
    const text = formatStatus(report({ operator: { ...base.operator, mode: 'dry-run' } }), 'table');
    expect(text.split('\n')[0]).to.equal(
      'operator: netpol-profiles-6d4f9-x2x7q is leading in DRY-RUN (shadow) mode, writing nothing (lease netpol-profiles/netpol-profiles renewed 3s ago, valid for 15s)',
    );
  });

  it('summarises policy states in a fixed order, "-" for none', () => {
    expect(summarizePolicies([])).to.equal('-');
    expect(summarizePolicies([policy(CNP, 'a', 'in-sync'), policy(CNP, 'b', 'conflict'), policy(CNP, 'c', 'drifted'), policy(CNP, 'd', 'in-sync')], 2)).to.equal(
      '1 conflict, 1 drifted, 2 in sync, 2 foreign',
    );
  });

  it('JSON is the report itself, indented, one trailing newline', () => {
    const value = report();
    const text = formatStatus(value, 'json');
    expect(text.endsWith('}\n')).to.equal(true);
    expect(JSON.parse(text)).to.deep.equal(value);
    expect(Object.keys(JSON.parse(text) as object)).to.deep.equal(['time', 'namespaceFilter', 'operator', 'namespaces', 'cluster', 'findings', 'counts']);
    expect(formatStatus(value, 'json')).to.equal(text);
  });
});
