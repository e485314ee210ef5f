// The pure status computation: every policy state and finding, the foreign-rule check, -n
// filtering and the exit code, on snapshots built from the default catalog and the renderer.
import type { ObservedPolicy, KubeObject, Namespace } from '../../src/kube/types.js';
import { expect } from 'chai';
import { makeRenderConfig } from '../../src/config.js';
import { buildCatalog, readDocuments, sortDocuments } from '../../src/catalog/load.js';
import type { Lease } from '../../src/kube/leader.js';
import { renderAll } from '../../src/render/render.js';
import { computeStatus, namespaceFilterProblem, statusExitCode, type ClusterSnapshot } from '../../src/status/compute.js';
import type { NamespaceStatus, StatusReport } from '../../src/status/report.js';
import { DEFAULT_CATALOG_DIR } from '../support/project.js';

const D = 'network-policy.homelab';
const config = makeRenderConfig();
const NOW = Date.parse('2026-11-21T12:00:00Z');
const OPERATOR_NS = 'netpol-profiles';
const MANAGED = { 'app.kubernetes.io/managed-by': 'netpol-profiles' };

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

function catalogObjects(): KubeObject[] {
  const { documents } = readDocuments([DEFAULT_CATALOG_DIR], () => '');
  return sortDocuments(documents).catalogObjects.map((entry) => clone(entry.object));
}

function ns(name: string, labels: Record<string, string> = {}, extra: Partial<Namespace> = {}): Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels, resourceVersion: '1' }, ...extra };
}

function lease(holder: string | null, renewedSecondsAgo: number, durationSeconds = 15): Lease {
  const renewTime = new Date(NOW - renewedSecondsAgo * 1000).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'netpol-profiles', namespace: OPERATOR_NS },
    spec: { holderIdentity: holder, leaseDurationSeconds: durationSeconds, renewTime },
  };
}

/** A cluster the operator has converged: every rendered object exists as the API returns it. */
function converged(namespaces: Namespace[], catalog = catalogObjects()): ClusterSnapshot {
  const snapshot: ClusterSnapshot = {
    namespaces,
    catalogObjects: catalog,
    policies: [],
    clusterPolicies: [],
    escapeHatchRecord: undefined,
    lease: lease('operator-0', 2),
  };
  const { catalog: built } = buildCatalog(catalog.map((object) => ({ source: 'test', object })));
  const rendered = renderAll(
    namespaces.map((n) => ({ name: n.metadata!.name!, labels: n.metadata?.labels ?? {} })),
    built,
    config,
  );
  for (const object of rendered.objects) {
    const observed = clone(object) as ObservedPolicy;
    observed.metadata = { ...observed.metadata, resourceVersion: '5', uid: `uid-${object.metadata.name}` };
    (object.kind === 'CiliumNetworkPolicy' ? (snapshot.policies as ObservedPolicy[]) : (snapshot.clusterPolicies as ObservedPolicy[])).push(observed);
  }
  return snapshot;
}

const status = (snapshot: ClusterSnapshot, namespace?: string): StatusReport =>
  computeStatus(snapshot, { config, operatorNamespace: OPERATOR_NS, namespace, nowMs: NOW });

const nsStatus = (report: StatusReport, name: string): NamespaceStatus => report.namespaces.find((n) => n.name === name)!;

function cnp(snapshot: ClusterSnapshot, namespace: string, name: string): ObservedPolicy {
  return snapshot.policies.find((p) => p.metadata.namespace === namespace && p.metadata.name === name)!;
}

function removeCnp(snapshot: ClusterSnapshot, namespace: string, name: string): void {
  snapshot.policies = snapshot.policies.filter((p) => !(p.metadata.namespace === namespace && p.metadata.name === name));
}

function foreign(namespace: string, name: string, spec: Record<string, unknown>, extra: Record<string, unknown> = {}): ObservedPolicy {
  return { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name, namespace, labels: { team: 'shop' } }, spec, ...extra };
}

const SHOP = { [`${D}/profile`]: 'standard', [`access.${D}/postgres`]: 'true' };

const MISSING_FIX = 'the operator creates it at its next reconcile; if it stays missing, see the runbook reconcile-failing.md (its log says "reconcile failed")';

describe('status computation', () => {
  it('a converged cluster with a leading operator has no findings: exit 0, everything in sync', () => {
    const report = status(converged([ns('shop', SHOP), ns('batch', { [`${D}/profile`]: 'isolated' }), ns('kube-system'), ns('netpol-profiles'), ns('plain')]));
    expect(report.findings).to.deep.equal([]);
    expect(statusExitCode(report)).to.equal(0);
    expect(report.namespaces.map((n) => n.name)).to.deep.equal(['batch', 'kube-system', 'netpol-profiles', 'plain', 'shop']);
    const shop = nsStatus(report, 'shop');
    expect(shop).to.deep.include({ protected: false, profile: { label: 'standard', state: 'valid' }, access: ['postgres'], findings: 0 });
    expect(shop.enforcement).to.deep.equal({ state: 'enforced', since: null, disabledForSeconds: null });
    expect(shop.policies).to.deep.equal([
      { kind: 'CiliumNetworkPolicy', name: 'access-postgres', state: 'in-sync', generatedFrom: 'access.postgres' },
      { kind: 'CiliumNetworkPolicy', name: 'profile-standard', state: 'in-sync', generatedFrom: 'profile.standard' },
    ]);
    expect(nsStatus(report, 'kube-system')).to.deep.include({ protected: true, policies: [], foreignPolicies: [] });
    expect(report.cluster.policies.map((p) => `${p.name}=${p.state}`)).to.deep.equal([
      'baseline-dns=in-sync',
      'baseline-health-probes=in-sync',
      'baseline-istio-ambient-hbone=in-sync',
      'baseline-prometheus-scrape=in-sync',
      'escape-hatch-allow-all=in-sync',
    ]);
    expect(report.operator).to.deep.include({ holder: 'operator-0', leading: true, renewedSecondsAgo: 2, leaseDurationSeconds: 15 });
    expect(report.counts).to.deep.equal({
      namespaces: 5,
      findings: 0,
      policies: { conflict: 0, missing: 0, drifted: 0, extra: 0, kept: 0, 'in-sync': 8 },
    });
    expect(report.time).to.equal('2026-11-21T12:00:00Z');
  });

  it('missing: a desired CNP or CCNP that does not exist', () => {
    const snapshot = converged([ns('shop', SHOP)]);
    removeCnp(snapshot, 'shop', 'access-postgres');
    snapshot.clusterPolicies = snapshot.clusterPolicies.filter((p) => p.metadata.name !== 'baseline-dns');
    const report = status(snapshot);
    expect(nsStatus(report, 'shop').policies.find((p) => p.name === 'access-postgres')!.state).to.equal('missing');
    expect(report.findings).to.deep.equal([
      { kind: 'missing', object: 'CiliumClusterwideNetworkPolicy/baseline-dns', message: 'CiliumClusterwideNetworkPolicy baseline-dns is missing', fix: MISSING_FIX },
      { namespace: 'shop', kind: 'missing', object: 'CiliumNetworkPolicy/access-postgres', message: 'CiliumNetworkPolicy access-postgres is missing', fix: MISSING_FIX },
    ]);
    expect(nsStatus(report, 'shop').findings).to.equal(1);
    expect(statusExitCode(report)).to.equal(1);
  });

  it('drifted: an owned object whose spec or our labels differ (key order and foreign labels do not count)', () => {
    const snapshot = converged([ns('shop', SHOP)]);
    const profile = cnp(snapshot, 'shop', 'profile-standard');
    profile.spec = Object.fromEntries(Object.entries(profile.spec as object).reverse());
    profile.metadata.labels = { ...profile.metadata.labels, team: 'web' };
    expect(status(snapshot).findings).to.deep.equal([]);

    (profile.spec as { ingress: unknown[] }).ingress = [{ fromEntities: ['world'] }];
    cnp(snapshot, 'shop', 'access-postgres').metadata.labels[`${D}/generated-from`] = 'access.other';
    const report = status(snapshot);
    expect(nsStatus(report, 'shop').policies.map((p) => [p.name, p.state, p.detail])).to.deep.equal([
      ['access-postgres', 'drifted', 'labels differ'],
      ['profile-standard', 'drifted', 'spec differs'],
    ]);
    expect(report.findings.map((f) => f.message)).to.deep.equal([
      'CiliumNetworkPolicy access-postgres has drifted (labels differ)',
      'CiliumNetworkPolicy profile-standard has drifted (spec differs)',
    ]);
  });

  it('conflict: the name is held by an object without our managed-by label', () => {
    const snapshot = converged([ns('shop', SHOP)]);
    const held = cnp(snapshot, 'shop', 'profile-standard');
    held.metadata.labels = { team: 'shop' };
    const report = status(snapshot);
    const shop = nsStatus(report, 'shop');
    expect(shop.policies.find((p) => p.name === 'profile-standard')).to.deep.include({ state: 'conflict', generatedFrom: 'profile.standard' });
    expect(report.findings.map((f) => [f.kind, f.message])).to.deep.equal([
      ['conflict', 'CiliumNetworkPolicy profile-standard is held by an object without app.kubernetes.io/managed-by=netpol-profiles; the operator will not overwrite it'],
    ]);
    // The squatter is also someone else's policy; with the profile's own rules it widens nothing.
    expect(shop.foreignPolicies).to.deep.equal([{ name: 'profile-standard', checked: true, wideningIngressRules: 0, wideningEgressRules: 0 }]);
  });

  it('extra: an owned object no longer desired, which the operator will prune', () => {
    const snapshot = converged([ns('shop', SHOP)]);
    const old = clone(cnp(snapshot, 'shop', 'access-postgres'));
    old.metadata.name = 'access-dragonfly';
    old.metadata.labels[`${D}/generated-from`] = 'access.dragonfly';
    (snapshot.policies as ObservedPolicy[]).push(old);
    const report = status(snapshot);
    expect(nsStatus(report, 'shop').policies.find((p) => p.name === 'access-dragonfly')).to.deep.equal({
      kind: 'CiliumNetworkPolicy',
      name: 'access-dragonfly',
      state: 'extra',
      generatedFrom: 'access.dragonfly',
    });
    expect(report.findings.map((f) => f.message)).to.deep.equal(['CiliumNetworkPolicy access-dragonfly is no longer wanted; the operator will delete it']);
  });

  it('kept: an invalid profile label keeps what was applied; the label error is the finding, the kept policy is not', () => {
    const snapshot = converged([ns('shop', SHOP)]);
    snapshot.namespaces = [ns('shop', { ...SHOP, [`${D}/profile`]: 'standrad' })];
    const report = status(snapshot);
    const shop = nsStatus(report, 'shop');
    expect(shop.profile).to.deep.equal({ label: 'standrad', state: 'invalid' });
    expect(shop.policies.find((p) => p.name === 'profile-standard')).to.deep.include({ state: 'kept' });
    expect(shop.labelErrors).to.deep.equal([
      { label: `${D}/profile`, reason: 'UnknownProfile', message: 'NetworkProfile "standrad" does not exist; policies already applied are kept' },
    ]);
    expect(report.findings).to.deep.equal([
      {
        namespace: 'shop',
        kind: 'label-error',
        message: `UnknownProfile: ${D}/profile: NetworkProfile "standrad" does not exist; policies already applied are kept`,
        fix: `in git, set ${D}/profile to a NetworkProfile (internal, internal-egress, isolated, standard) or add the profile to the catalog`,
      },
    ]);
    expect(report.counts.policies.kept).to.equal(1);
  });

  it('every label error of SPEC section 2 is a finding, with its reason', () => {
    const snapshot = converged([]);
    snapshot.namespaces = [
      ns('a', { [`${D}/profile`]: 'Not_A_Name', [`access.${D}/nosuch`]: 'true', [`access.${D}/postgres`]: 'yes', [`${D}/enforcement`]: 'off' }),
      ns('kube-system', { [`${D}/profile`]: 'standard' }),
    ];
    const report = status(snapshot);
    expect(nsStatus(report, 'a').labelErrors.map((e) => e.reason)).to.have.members(['InvalidProfile', 'UnknownSharedService', 'InvalidAccessLabel', 'InvalidEnforcementLabel']);
    expect(nsStatus(report, 'kube-system').labelErrors.map((e) => e.reason)).to.deep.equal(['ProtectedNamespace']);
    expect(report.findings.filter((f) => f.kind === 'label-error')).to.have.length(5);
  });

  it('enforcement disabled is a finding, with the recorded time and its age, or "not recorded"', () => {
    const snapshot = converged([ns('legacy', { [`${D}/profile`]: 'internal', [`${D}/enforcement`]: 'disabled' }), ns('fresh', { [`${D}/enforcement`]: 'disabled' })]);
    snapshot.escapeHatchRecord = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'netpol-profiles-state', namespace: OPERATOR_NS },
      data: { 'disabled-since.legacy': '2026-11-20T10:00:00Z', 'disabled-since.gone': '2026-01-01T00:00:00Z' },
    };
    const report = status(snapshot);
    expect(nsStatus(report, 'legacy').enforcement).to.deep.equal({ state: 'disabled', since: '2026-11-20T10:00:00Z', disabledForSeconds: 26 * 3600 });
    expect(nsStatus(report, 'fresh').enforcement).to.deep.equal({ state: 'disabled', since: null, disabledForSeconds: null });
    expect(report.findings.map((f) => `${f.namespace}: ${f.message}`)).to.deep.equal([
      `fresh: enforcement disabled (${D}/enforcement=disabled); since when is not recorded: no operator has seen it yet`,
      'legacy: enforcement disabled since 2026-11-20T10:00:00Z (1d 2h ago)',
    ]);
  });

  describe('foreign policies', () => {
    const base = () => converged([ns('shop', SHOP), ns('plain'), ns('kube-system')]);

    it('an allow-all CNP widens the profile; ingressDeny/egressDeny never do', () => {
      const snapshot = base();
      (snapshot.policies as ObservedPolicy[]).push(
        foreign('shop', 'allow-all', { endpointSelector: {}, ingress: [{ fromEntities: ['all'] }], egress: [{ toEntities: ['all'] }, {}] }),
        foreign('shop', 'deny-only', { endpointSelector: {}, ingressDeny: [{ fromEntities: ['world'] }], egressDeny: [{ toEntities: ['world'] }] }),
      );
      const report = status(snapshot);
      expect(nsStatus(report, 'shop').foreignPolicies).to.deep.equal([
        { name: 'allow-all', checked: true, wideningIngressRules: 1, wideningEgressRules: 1 },
        { name: 'deny-only', checked: true, wideningIngressRules: 0, wideningEgressRules: 0 },
      ]);
      expect(report.findings).to.deep.equal([
        {
          namespace: 'shop',
          kind: 'foreign-policy',
          object: 'CiliumNetworkPolicy/allow-all',
          message: 'foreign CiliumNetworkPolicy allow-all widens the profile: 1 ingress and 1 egress rules',
          fix: 'review it (kubectl get cnp allow-all -n shop -o yaml) and remove or narrow its allow rules where it is managed',
        },
      ]);
    });

    it('a rule identical to one the namespace already grants every endpoint adds nothing, whatever its key order', () => {
      const snapshot = base();
      const profileRule = clone((cnp(snapshot, 'shop', 'profile-standard').spec as { ingress: Array<Record<string, unknown>> }).ingress[0]!);
      const reordered = Object.fromEntries(Object.entries(profileRule).reverse());
      const accessRule = clone((cnp(snapshot, 'shop', 'access-postgres').spec as { egress: unknown[] }).egress[0]);
      (snapshot.policies as ObservedPolicy[]).push(
        foreign('shop', 'copy', { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [reordered], egress: [accessRule] }),
        // the same rule in the other direction is a different rule
        foreign('shop', 'crossed', { endpointSelector: {}, egress: [profileRule] }),
      );
      const shop = nsStatus(status(snapshot), 'shop');
      expect(shop.foreignPolicies.map((f) => [f.name, f.wideningIngressRules, f.wideningEgressRules])).to.deep.equal([
        ['copy', 0, 0],
        ['crossed', 0, 1],
      ]);
    });

    it('counts the rules of every entry of specs[] as well as spec', () => {
      const snapshot = base();
      (snapshot.policies as ObservedPolicy[]).push(
        foreign('shop', 'multi', { endpointSelector: {}, ingress: [{}] }, { specs: [{ endpointSelector: {}, ingress: [{ fromEntities: ['world'] }] }, { endpointSelector: {}, egress: [{ toCIDR: ['0.0.0.0/0'] }, { toEntities: ['world'] }] }] }),
      );
      expect(nsStatus(status(snapshot), 'shop').foreignPolicies[0]).to.deep.include({ wideningIngressRules: 1, wideningEgressRules: 2 });
    });

    it('is listed but not checked in a namespace without a profile label or a protected one', () => {
      const snapshot = base();
      (snapshot.policies as ObservedPolicy[]).push(
        foreign('plain', 'allow-all', { endpointSelector: {}, ingress: [{ fromEntities: ['all'] }] }),
        foreign('kube-system', 'allow-all', { endpointSelector: {}, ingress: [{ fromEntities: ['all'] }] }),
      );
      const report = status(snapshot);
      for (const name of ['plain', 'kube-system']) {
        expect(nsStatus(report, name).foreignPolicies).to.deep.equal([{ name: 'allow-all', checked: false, wideningIngressRules: null, wideningEgressRules: null }]);
      }
      expect(report.findings).to.deep.equal([]);
    });

    it('rules of a kept profile policy count as granted while the label is invalid', () => {
      const snapshot = base();
      const profileRule = clone((cnp(snapshot, 'shop', 'profile-standard').spec as { ingress: unknown[] }).ingress[0]);
      (snapshot.policies as ObservedPolicy[]).push(foreign('shop', 'copy', { endpointSelector: {}, ingress: [profileRule] }));
      snapshot.namespaces = [ns('shop', { ...SHOP, [`${D}/profile`]: 'standrad' })];
      expect(nsStatus(status(snapshot), 'shop').foreignPolicies[0]).to.deep.include({ wideningIngressRules: 0 });
      // Nothing kept: only access-postgres enforces shop, egress only; an ingress rule widens nothing
      // of ours (it turns ingress default-deny on for the pods it selects), an egress rule does.
      removeCnp(snapshot, 'shop', 'profile-standard');
      expect(nsStatus(status(snapshot), 'shop').foreignPolicies[0]).to.deep.include({ wideningIngressRules: 0 });
      (snapshot.policies as ObservedPolicy[]).push(foreign('shop', 'out', { endpointSelector: {}, egress: [{ toEntities: ['world'] }] }));
      expect(nsStatus(status(snapshot), 'shop').foreignPolicies[1]).to.deep.include({ name: 'out', wideningEgressRules: 1 });
    });

    it('in a namespace with access labels only, foreign egress rules widen its access policies; ingress rules do not count', () => {
      const snapshot = base();
      snapshot.namespaces = [...snapshot.namespaces, ns('jobs', { [`access.${D}/postgres`]: 'true' })];
      const rendered = converged([...snapshot.namespaces]);
      snapshot.policies = rendered.policies;
      (snapshot.policies as ObservedPolicy[]).push(foreign('jobs', 'open', { endpointSelector: {}, ingress: [{ fromEntities: ['all'] }], egress: [{ toEntities: ['world'] }] }));
      const report = status(snapshot);
      expect(nsStatus(report, 'jobs').foreignPolicies[0]).to.deep.include({ checked: true, wideningIngressRules: 0, wideningEgressRules: 1 });
      expect(report.findings.map((f) => f.message)).to.include("foreign CiliumNetworkPolicy open widens the namespace's access policies: 0 ingress and 1 egress rules");
    });

    it('a CNP with our managed-by label that the operator would not generate is extra: it will be pruned', () => {
      const snapshot = base();
      const impostor = foreign('shop', 'sneaky', { endpointSelector: {}, egress: [{ toEntities: ['world'] }] });
      impostor.metadata.labels = { ...MANAGED };
      (snapshot.policies as ObservedPolicy[]).push(impostor);
      const report = status(snapshot);
      const shop = nsStatus(report, 'shop');
      expect(shop.policies.find((p) => p.name === 'sneaky')).to.deep.include({ state: 'extra' });
      expect(shop.foreignPolicies).to.deep.equal([]);
      expect(report.findings.map((f) => f.message)).to.deep.equal([
        'CiliumNetworkPolicy sneaky is not an object the operator generates, although it carries its managed-by label; the operator will delete it',
      ]);
    });
  });

  it('catalog problems are findings; a namespace on an invalid profile keeps its policy (unavailable)', () => {
    const catalog = catalogObjects();
    const snapshot = converged([ns('shop', SHOP)], catalog);
    const standard = snapshot.catalogObjects.find((o) => o.kind === 'NetworkProfile' && o.metadata?.name === 'standard')! as { spec: Record<string, unknown> };
    standard.spec.ingress = [{ fromEntitie: ['world'] }];
    const report = status(snapshot);
    expect(report.cluster.catalogProblems).to.have.length.greaterThan(0);
    expect(report.cluster.catalogProblems.every((p) => p.object === 'NetworkProfile/standard')).to.equal(true);
    const shop = nsStatus(report, 'shop');
    expect(shop.profile).to.deep.equal({ label: 'standard', state: 'unavailable' });
    expect(shop.policies.find((p) => p.name === 'profile-standard')!.state).to.equal('kept');
    expect(shop.labelErrors).to.deep.equal([]);
    expect(report.findings.map((f) => f.kind)).to.deep.equal(report.cluster.catalogProblems.map(() => 'catalog-problem'));
    expect(report.findings[0]!.message).to.match(/^NetworkProfile\/standard: /);
  });

  it('a rejected NetworkBaseline keeps its CCNP; a deleted one leaves an extra CCNP', () => {
    const snapshot = converged([ns('shop', SHOP)]);
    const dns = snapshot.catalogObjects.find((o) => o.kind === 'NetworkBaseline' && o.metadata?.name === 'dns')! as { spec: Record<string, unknown> };
    dns.spec.egress = 'not a list';
    let report = status(snapshot);
    expect(report.cluster.policies.find((p) => p.name === 'baseline-dns')!.state).to.equal('kept');
    snapshot.catalogObjects = snapshot.catalogObjects.filter((o) => o !== (dns as unknown));
    report = status(snapshot);
    expect(report.cluster.policies.find((p) => p.name === 'baseline-dns')!.state).to.equal('extra');
    expect(report.findings.map((f) => f.message)).to.deep.equal(['CiliumClusterwideNetworkPolicy baseline-dns is no longer wanted; the operator will delete it']);
  });

  it('access-<S>-ingress: desired in the home namespace when it exists, not missing when it does not', () => {
    const catalog = catalogObjects();
    const postgres = catalog.find((o) => o.kind === 'SharedService' && o.metadata?.name === 'postgres')! as { spec: Record<string, unknown> };
    postgres.spec.manageIngress = true;
    const snapshot = converged([ns('shop', SHOP), ns('database')], catalog);
    expect(nsStatus(status(snapshot), 'database').policies).to.deep.equal([
      { kind: 'CiliumNetworkPolicy', name: 'access-postgres-ingress', state: 'in-sync', generatedFrom: 'access-ingress.postgres' },
    ]);
    snapshot.namespaces = snapshot.namespaces.filter((n) => n.metadata?.name !== 'database');
    snapshot.policies = snapshot.policies.filter((p) => p.metadata.namespace !== 'database');
    expect(status(snapshot).findings).to.deep.equal([]);
  });

  it('skips namespaces being deleted, as the operator does', () => {
    const snapshot = converged([ns('shop', SHOP)]);
    snapshot.namespaces = [ns('shop', SHOP, { status: { phase: 'Terminating' } })];
    const report = status(snapshot);
    expect(report.namespaces).to.deep.equal([]);
    expect(report.findings).to.deep.equal([]);
    expect(namespaceFilterProblem(snapshot, 'shop')).to.equal('namespace "shop" is being deleted; its policies go with it');
    expect(namespaceFilterProblem(snapshot, 'nope')).to.equal('namespace "nope" does not exist');
  });

  describe('the operator lease', () => {
    const cases: Array<[string, Lease | undefined, RegExp | undefined]> = [
      ['renewed within its duration', lease('op', 14), undefined],
      ['missing', undefined, /^no operator is leading: Lease netpol-profiles\/netpol-profiles does not exist/],
      ['released', lease(null, 3, 1), /^no operator is leading: Lease netpol-profiles\/netpol-profiles has no holder/],
      ['not renewed for longer than its duration', lease('op', 16), /^no operator is leading: Lease netpol-profiles\/netpol-profiles was last renewed by op 16s ago, longer than its 15s duration$/],
    ];
    for (const [what, value, problem] of cases) {
      it(what, () => {
        const snapshot = converged([ns('shop', SHOP)]);
        snapshot.lease = value;
        const report = status(snapshot);
        expect(report.operator.leading).to.equal(problem === undefined);
        if (problem === undefined) expect(report.findings).to.deep.equal([]);
        else expect(report.findings).to.have.length(1).and.satisfy((f: Array<{ kind: string; message: string }>) => f[0]!.kind === 'no-leader' && problem.test(f[0]!.message));
      });
    }

    it('a leader in dry-run (the mode annotation on its Lease) is a finding that says nothing is kept in sync; enforce is not', () => {
      const snapshot = converged([ns('shop', SHOP)]);
      const held = lease('op', 2)!;
      snapshot.lease = { ...held, metadata: { ...held.metadata, annotations: { 'netpol-profiles/mode': 'dry-run' } } };
      const report = status(snapshot);
      expect(report.operator.mode).to.equal('dry-run');
      expect(report.findings.map((f) => [f.kind, f.message])).to.deep.equal([
        ['dry-run', 'the leader op runs in dry-run (shadow) mode: it logs what it would do and writes nothing, so nothing here is created, repaired or pruned'],
      ]);
      expect(report.findings[0]!.fix).to.contain('manifests/overlays/dry-run');
      snapshot.lease = { ...held, metadata: { ...held.metadata, annotations: { 'netpol-profiles/mode': 'enforce' } } };
      expect(status(snapshot).findings).to.deep.equal([]);
      expect(status(snapshot).operator.mode).to.equal('enforce');
    });
  });

  it('-n reports one namespace: its findings plus cluster-wide policies, catalog problems it depends on, and a missing leader', () => {
    const snapshot = converged([ns('shop', SHOP), ns('other', { [`${D}/profile`]: 'internal', [`${D}/enforcement`]: 'disabled' })]);
    removeCnp(snapshot, 'shop', 'access-postgres');
    snapshot.clusterPolicies = snapshot.clusterPolicies.filter((p) => p.metadata.name !== 'escape-hatch-allow-all');
    snapshot.lease = undefined;
    const internal = snapshot.catalogObjects.find((o) => o.kind === 'NetworkProfile' && o.metadata?.name === 'internal')! as { spec: Record<string, unknown> };
    internal.spec.egress = [{ toEntitie: ['world'] }];
    const postgres = snapshot.catalogObjects.find((o) => o.kind === 'SharedService' && o.metadata?.name === 'postgres')! as { spec: Record<string, unknown> };

    const shopOnly = status(snapshot, 'shop');
    expect(shopOnly.namespaceFilter).to.equal('shop');
    expect(shopOnly.namespaces.map((n) => n.name)).to.deep.equal(['shop']);
    expect(shopOnly.findings.map((f) => f.kind)).to.deep.equal(['no-leader', 'missing', 'missing']);
    expect(shopOnly.findings.map((f) => f.namespace ?? '-')).to.deep.equal(['-', '-', 'shop']);
    expect(shopOnly.cluster.catalogProblems).to.deep.equal([]);

    postgres.spec.ports = [];
    const withService = status(snapshot, 'shop');
    expect(withService.findings.filter((f) => f.kind === 'catalog-problem').every((f) => f.object === 'SharedService/postgres')).to.equal(true);
    expect(withService.findings.some((f) => f.kind === 'catalog-problem')).to.equal(true);

    const everything = status(snapshot);
    expect(everything.findings.filter((f) => f.namespace === 'other').map((f) => f.kind)).to.deep.equal(['enforcement-disabled']);
    expect(everything.findings.filter((f) => f.kind === 'catalog-problem').map((f) => f.object)).to.include.members(['NetworkProfile/internal', 'SharedService/postgres']);
  });

  it('-n on a protected namespace still shows the catalog problem of the profile its label names; an access label set to "false" names nothing', () => {
    const snapshot = converged([
      ns('infra', { [`${D}/platform`]: 'true', [`${D}/profile`]: 'internal' }),
      ns('shop', { [`${D}/profile`]: 'standard', [`access.${D}/postgres`]: 'false' }),
    ]);
    const internal = snapshot.catalogObjects.find((o) => o.kind === 'NetworkProfile' && o.metadata?.name === 'internal')! as { spec: Record<string, unknown> };
    internal.spec.egress = [{ toEntitie: ['world'] }];
    const postgres = snapshot.catalogObjects.find((o) => o.kind === 'SharedService' && o.metadata?.name === 'postgres')! as { spec: Record<string, unknown> };
    postgres.spec.ports = [];
    const problems = (namespace: string) => status(snapshot, namespace).findings.filter((f) => f.kind === 'catalog-problem').map((f) => f.object);
    expect(problems('infra')).to.deep.equal(['NetworkProfile/internal']);
    expect(problems('shop')).to.deep.equal([]);
  });

  it('is deterministic: the order of what the API returned does not matter', () => {
    const snapshot = converged([ns('shop', SHOP), ns('batch', { [`${D}/profile`]: 'isolated' }), ns('legacy', { [`${D}/enforcement`]: 'disabled' })]);
    removeCnp(snapshot, 'batch', 'profile-isolated');
    (snapshot.policies as ObservedPolicy[]).push(foreign('shop', 'b', { endpointSelector: {}, ingress: [{ fromEntities: ['all'] }] }), foreign('shop', 'a', { endpointSelector: {}, egress: [{ toEntities: ['all'] }] }));
    const shuffled: ClusterSnapshot = {
      ...snapshot,
      namespaces: [...snapshot.namespaces].reverse(),
      catalogObjects: [...snapshot.catalogObjects].reverse(),
      policies: [...snapshot.policies].reverse(),
      clusterPolicies: [...snapshot.clusterPolicies].reverse(),
    };
    expect(JSON.stringify(status(shuffled))).to.equal(JSON.stringify(status(snapshot)));
  });
});
