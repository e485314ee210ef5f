// The `status` report from one read of the cluster: the operator's own pure code (catalog, labels,
// renderer, diff, escape-hatch record) says what should exist, and each object is classified the
// way the operator would act on it. Pure: the caller reads the cluster and supplies the time.

import type { RenderConfig } from '../config.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../config.js';
import { buildCatalog, type InputProblem } from '../catalog/load.js';
import { emptyCatalog, type Catalog } from '../catalog/types.js';
import type { Lease } from '../kube/leader.js';
import { type KubeObject, type Namespace, type PolicyObject, objectKey, type ObservedPolicy, isTerminating } from '../kube/types.js';
import { catalogObjectsNamed, type LabelProblem, type NamespaceIntent } from '../labels.js';
import { jsonEqual } from '../render/canonical.js';
import { generatedSource, type SourceType } from '../render/policies.js';
import { renderAll, type RetainRule } from '../render/render.js';
import { diffPolicies, isOwned, namespacesWithOwnedProfile } from '../reconcile/diff.js';
import { formatSince, humanDuration, readDisabledSince, type ConfigMap } from '../reconcile/escape-hatch.js';
import { grantedRules, specsOf, wideningRules } from './foreign.js';
import { operatorStatus } from './leader.js';
import { POLICY_STATES, type Finding, type ForeignPolicy, type NamespaceStatus, type PolicyState, type PolicyStatus, type StatusReport } from './report.js';

/** Everything status reads, as the API returned it. */
export interface ClusterSnapshot {
  namespaces: readonly Namespace[];
  /** NetworkProfiles, SharedServices and NetworkBaselines. */
  catalogObjects: readonly KubeObject[];
  /** Every CiliumNetworkPolicy, ours or not. */
  policies: readonly ObservedPolicy[];
  /** Every CiliumClusterwideNetworkPolicy, ours or not. */
  clusterPolicies: readonly ObservedPolicy[];
  /** `netpol-profiles-state` in the operator namespace, when it exists. */
  escapeHatchRecord: ConfigMap | undefined;
  /** The leader election Lease, when it exists. */
  lease: Lease | undefined;
}

export interface StatusOptions {
  config: RenderConfig;
  operatorNamespace: string;
  /** `-n`: report this namespace only (see `computeStatus`). */
  namespace?: string | undefined;
  /** The one "now" every age in the report is measured from. */
  nowMs: number;
}

const CNP = 'CiliumNetworkPolicy';
const NAMESPACE_SOURCES: readonly SourceType[] = ['profile', 'access'];

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const displayKind = (object: { kind?: string; metadata?: { name?: string } }): string => `${object.kind}/${object.metadata?.name ?? ''}`;

/** Why `-n NAME` cannot be reported, or undefined. */
export function namespaceFilterProblem(snapshot: Pick<ClusterSnapshot, 'namespaces'>, name: string): string | undefined {
  const found = snapshot.namespaces.find((namespace) => namespace.metadata?.name === name);
  if (!found) return `namespace ${JSON.stringify(name)} does not exist`;
  if (isTerminating(found)) return `namespace ${JSON.stringify(name)} is being deleted; its policies go with it`;
  return undefined;
}

/** 0 when everything is in sync and enforced, 1 when there is any finding. */
export function statusExitCode(report: StatusReport): number {
  return report.findings.length > 0 ? 1 : 0;
}

function catalogFrom(objects: readonly KubeObject[]): { catalog: Catalog; problems: InputProblem[] } {
  if (objects.length === 0) return { catalog: emptyCatalog(), problems: [] };
  const sorted = [...objects].sort((a, b) => compareStrings(displayKind(a), displayKind(b)));
  return buildCatalog(sorted.map((object) => ({ source: 'cluster', object })));
}

/**
 * What the operator does with each object, classified. Desired objects are in-sync, missing,
 * drifted or conflict; owned undesired ones are extra (pruned, including objects with our label that
 * the operator would not generate) or kept (retained, or held until their replacement exists).
 */
function classify(
  desired: readonly PolicyObject[],
  observed: readonly ObservedPolicy[],
  retain: readonly RetainRule[],
  config: RenderConfig,
): Map<string, PolicyStatus & { namespace: string | undefined }> {
  const keys = config.keys;
  const diff = diffPolicies(desired, observed, retain, keys);
  const states = new Map<string, PolicyStatus & { namespace: string | undefined }>();
  const entry = (object: PolicyObject | ObservedPolicy, state: PolicyState, detail?: string) => {
    const status: PolicyStatus & { namespace: string | undefined } = {
      namespace: object.metadata.namespace,
      kind: object.kind,
      name: object.metadata.name,
      state,
      generatedFrom: object.metadata.labels?.[keys.generatedFrom] ?? null,
    };
    if (detail !== undefined) status.detail = detail;
    states.set(objectKey(object), status);
  };
  const missing = new Set(diff.create.map(objectKey));
  const conflicts = new Set(diff.conflicts.map((conflict) => objectKey(conflict.desired)));
  const drifted = new Map(diff.update.map((update) => [objectKey(update.desired), update.observed]));
  for (const object of desired) {
    const key = objectKey(object);
    if (missing.has(key)) entry(object, 'missing');
    else if (conflicts.has(key)) entry(object, 'conflict', `held by an object without ${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`);
    else if (drifted.has(key)) entry(object, 'drifted', driftDetail(object, drifted.get(key)!));
    else entry(object, 'in-sync');
  }
  const deleted = new Set(diff.delete.map(objectKey));
  const held = new Set(diff.held.map(objectKey));
  for (const object of observed) {
    const key = objectKey(object);
    if (!isOwned(object) || states.has(key)) continue;
    const source = generatedSource(object, keys);
    if (deleted.has(key)) entry(object, 'extra', source ? undefined : 'not an object the operator generates, although it carries its managed-by label');
    else if (held.has(key)) entry(object, 'kept', 'kept until the policy that replaces it can be created (its name is held by another object)');
    else entry(object, 'kept', `kept as it is while its ${source!.type === 'profile' ? 'profile label or NetworkProfile' : source!.type === 'baseline' ? 'NetworkBaseline' : 'SharedService'} is invalid`);
  }
  return states;
}

function driftDetail(desired: PolicyObject, observed: ObservedPolicy): string {
  const specDiffers = !jsonEqual(desired.spec, observed.spec);
  const labels = observed.metadata.labels ?? {};
  const labelsDiffer = Object.entries(desired.metadata.labels).some(([key, value]) => labels[key] !== value);
  return specDiffers && labelsDiffer ? 'spec and labels differ' : specDiffers ? 'spec differs' : 'labels differ';
}

function policyFinding(policy: PolicyStatus, namespace: string | undefined): Finding | undefined {
  const what = `${policy.kind} ${policy.name}`;
  const message = {
    missing: `${what} is missing`,
    drifted: `${what} has drifted (${policy.detail})`,
    conflict: `${what} is held by an object without ${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}; the operator will not overwrite it`,
    extra: policy.detail ? `${what} is ${policy.detail}; the operator will delete it` : `${what} is no longer wanted; the operator will delete it`,
    'in-sync': undefined,
    kept: undefined,
  }[policy.state];
  if (message === undefined) return undefined;
  const get = `kubectl get ${policy.kind === CNP ? `cnp ${policy.name} -n ${namespace}` : `ccnp ${policy.name}`}`;
  const events = `kubectl get events -n ${namespace ?? 'default'} --field-selector reason=NameConflict`;
  const fix = {
    missing: 'the operator creates it at its next reconcile; if it stays missing, see the runbook reconcile-failing.md (its log says "reconcile failed")',
    drifted: 'the operator restores it at its next reconcile; edit the labels or the catalog in git instead of the object',
    conflict: `find who made it (${get} -o yaml), then rename or delete it there (${events}; runbook name-conflict.md)`,
    extra: 'the operator deletes it at its next reconcile; if it stays, see the runbook reconcile-failing.md',
  }[policy.state as 'missing' | 'drifted' | 'conflict' | 'extra'];
  const finding: Finding = { kind: policy.state as Finding['kind'], object: `${policy.kind}/${policy.name}`, message, fix };
  return namespace === undefined ? finding : { namespace, ...finding };
}

const byKindAndName = (a: PolicyStatus, b: PolicyStatus): number => compareStrings(a.kind, b.kind) || compareStrings(a.name, b.name);

/**
 * The report. With `options.namespace` only that namespace is listed, and the findings are its own
 * plus those that apply to it from outside: cluster-wide policies (they select endpoints in every
 * namespace), catalog problems of the NetworkProfile and SharedServices its labels name, and a
 * missing leader (nothing repairs it then).
 */
export function computeStatus(snapshot: ClusterSnapshot, options: StatusOptions): StatusReport {
  const { config, nowMs } = options;
  const keys = config.keys;
  const nowSeconds = Math.floor(nowMs / 1000);
  const { catalog, problems: catalogProblems } = catalogFrom(snapshot.catalogObjects);

  // The operator skips namespaces being deleted: their objects go with them.
  const live = snapshot.namespaces.filter((namespace) => !isTerminating(namespace) && namespace.metadata?.name);
  const liveNames = new Set(live.map((namespace) => namespace.metadata!.name!));
  const labelsOf = new Map(live.map((namespace) => [namespace.metadata!.name!, namespace.metadata?.labels ?? {}]));
  const withProfilePolicy = namespacesWithOwnedProfile(snapshot.policies, keys);
  // What should exist (and what rejected catalog objects keep), as the operator's controllers render it.
  const rendered = renderAll(
    live.map((namespace) => ({ name: namespace.metadata!.name!, labels: namespace.metadata?.labels ?? {} })),
    catalog,
    config,
    { hasProfilePolicy: (namespace) => withProfilePolicy.has(namespace), isWritable: (namespace) => liveNames.has(namespace) },
  );
  const desired = rendered.objects;
  const observed = [...snapshot.policies.filter((policy) => liveNames.has(policy.metadata.namespace ?? '')), ...snapshot.clusterPolicies];
  const states = classify(desired, observed, rendered.retain, config);

  const policiesByNamespace = new Map<string, PolicyStatus[]>();
  const clusterPolicies: PolicyStatus[] = [];
  for (const { namespace, ...policy } of states.values()) {
    if (namespace === undefined) {
      clusterPolicies.push(policy);
      continue;
    }
    let list = policiesByNamespace.get(namespace);
    if (!list) policiesByNamespace.set(namespace, (list = []));
    list.push(policy);
  }
  clusterPolicies.sort(byKindAndName);

  const disabledSince = readDisabledSince(snapshot.escapeHatchRecord, nowSeconds);
  const desiredByNamespace = new Map<string, PolicyObject[]>();
  for (const object of desired) {
    if (object.kind !== CNP) continue;
    const list = desiredByNamespace.get(object.metadata.namespace!) ?? [];
    list.push(object);
    desiredByNamespace.set(object.metadata.namespace!, list);
  }
  const foreignByNamespace = new Map<string, ObservedPolicy[]>();
  for (const policy of observed) {
    if (policy.kind !== CNP || isOwned(policy)) continue;
    const list = foreignByNamespace.get(policy.metadata.namespace!) ?? [];
    list.push(policy);
    foreignByNamespace.set(policy.metadata.namespace!, list);
  }
  const observedByKey = new Map(observed.map((policy) => [objectKey(policy), policy]));

  const namespaces: NamespaceStatus[] = [];
  const namespaceFindings: Finding[] = [];
  for (const intent of rendered.namespaces) {
    if (options.namespace !== undefined && intent.namespace !== options.namespace) continue;
    const name = intent.namespace;
    const labels = labelsOf.get(name) ?? {};
    const policies = (policiesByNamespace.get(name) ?? []).sort(byKindAndName);
    const findings: Finding[] = [];
    for (const problem of intent.problems) {
      findings.push({ namespace: name, kind: 'label-error', message: `${problem.reason}: ${problem.label}: ${problem.message}`, fix: labelFix(problem, catalog, keys) });
    }
    const since = disabledSince.get(name);
    const enforcement: NamespaceStatus['enforcement'] = intent.enforcementDisabled
      ? { state: 'disabled', since: since === undefined ? null : formatSince(since), disabledForSeconds: since === undefined ? null : Math.max(0, nowSeconds - since) }
      : { state: 'enforced', since: null, disabledForSeconds: null };
    if (intent.enforcementDisabled) {
      findings.push({
        namespace: name,
        kind: 'enforcement-disabled',
        message:
          since === undefined
            ? `enforcement disabled (${keys.enforcement}=disabled); since when is not recorded: no operator has seen it yet`
            : `enforcement disabled since ${formatSince(since)} (${humanDuration(nowSeconds - since)} ago)`,
        fix: `once the cause is fixed, remove the label in git and in the cluster: kubectl label namespace ${name} ${keys.enforcement}- (runbook escape-hatch.md)`,
      });
    }
    for (const policy of policies) {
      const finding = policyFinding(policy, name);
      if (finding) findings.push(finding);
    }
    const foreignPolicies = foreignPoliciesOf(name, intent, labels, foreignByNamespace.get(name) ?? [], desiredByNamespace.get(name) ?? [], policies, observedByKey, config);
    for (const foreign of foreignPolicies) {
      const ingress = foreign.wideningIngressRules ?? 0;
      const egress = foreign.wideningEgressRules ?? 0;
      if (ingress + egress === 0) continue;
      const rules = `${ingress} ingress and ${egress} egress rules`;
      findings.push({
        namespace: name,
        kind: 'foreign-policy',
        object: `${CNP}/${foreign.name}`,
        message: `foreign CiliumNetworkPolicy ${foreign.name} widens ${intent.profile.state === 'none' ? "the namespace's access policies" : 'the profile'}: ${rules}`,
        fix: `review it (kubectl get cnp ${foreign.name} -n ${name} -o yaml) and remove or narrow its allow rules where it is managed`,
      });
    }
    namespaces.push({
      name,
      protected: intent.protected,
      profile: { label: labels[keys.profile] ?? null, state: intent.profile.state },
      access: [...intent.access],
      enforcement,
      policies,
      labelErrors: intent.problems.map((problem) => ({ label: problem.label, reason: problem.reason, message: problem.message })),
      foreignPolicies,
      findings: findings.length,
    });
    namespaceFindings.push(...findings);
  }

  const findings: Finding[] = [];
  const leader = operatorStatus(snapshot.lease, options.operatorNamespace, nowMs);
  if (leader.problem !== undefined) {
    findings.push({
      kind: 'no-leader',
      message: `no operator is leading: ${leader.problem}`,
      fix: `check the operator: kubectl -n ${options.operatorNamespace} get pods,lease (runbook operator-down.md)`,
    });
  } else if (leader.status.mode === 'dry-run') {
    findings.push({
      kind: 'dry-run',
      message: `the leader ${leader.status.holder} runs in dry-run (shadow) mode: it logs what it would do and writes nothing, so nothing here is created, repaired or pruned`,
      fix: 'once its log shows what you expect, install manifests/ instead of manifests/overlays/dry-run (no --dry-run)',
    });
  }
  // `-n`: the catalog problems of what the namespace's labels name (a protected namespace's too:
  // its labels are ignored, and the problem may be why someone looks).
  const named = options.namespace === undefined ? undefined : catalogObjectsNamed(labelsOf.get(options.namespace) ?? {}, keys);
  const usedCatalog = named && new Set([...(named.profile ? [`NetworkProfile/${named.profile}`] : []), ...named.services.map((service) => `SharedService/${service}`)]);
  const shownProblems = catalogProblems.filter((problem) => usedCatalog === undefined || usedCatalog.has(problem.subject));
  for (const problem of shownProblems) {
    findings.push({
      kind: 'catalog-problem',
      object: problem.subject,
      message: `${problem.subject}: ${problem.message}`,
      fix: `fix ${problem.subject} in git and check it with netpol-profiles render --catalog <catalog directory> (runbook catalog-invalid.md)`,
    });
  }
  for (const policy of clusterPolicies) {
    const finding = policyFinding(policy, undefined);
    if (finding) findings.push(finding);
  }
  findings.push(...namespaceFindings);

  const policyCounts = Object.fromEntries(POLICY_STATES.map((state) => [state, 0])) as Record<PolicyState, number>;
  for (const policy of [...clusterPolicies, ...namespaces.flatMap((namespace) => namespace.policies)]) policyCounts[policy.state]++;
  return {
    time: formatSince(nowSeconds),
    namespaceFilter: options.namespace ?? null,
    operator: leader.status,
    namespaces,
    cluster: { policies: clusterPolicies, catalogProblems: shownProblems.map((problem) => ({ object: problem.subject, message: problem.message })) },
    findings,
    counts: { namespaces: namespaces.length, findings: findings.length, policies: policyCounts },
  };
}

/**
 * CNPs here the operator does not manage. In a non-protected namespace with a profile label their
 * allow rules are compared with the rules the namespace's own `profile-*`/`access-*` policies grant
 * every endpoint: the desired ones (what the operator enforces; if they are missing or drifted that
 * is reported on its own) and the kept ones (what stays in force while a label is invalid).
 */
function foreignPoliciesOf(
  name: string,
  intent: NamespaceIntent,
  labels: Readonly<Record<string, string>>,
  foreign: readonly ObservedPolicy[],
  desired: readonly PolicyObject[],
  policies: readonly PolicyStatus[],
  observedByKey: ReadonlyMap<string, ObservedPolicy>,
  config: RenderConfig,
): ForeignPolicy[] {
  const own = desired.filter((object) => NAMESPACE_SOURCES.includes(generatedSource(object, config.keys)?.type as SourceType));
  const kept = policies
    .filter((policy) => policy.state === 'kept' && policy.kind === CNP)
    .map((policy) => observedByKey.get(objectKey({ kind: CNP, metadata: { namespace: name, name: policy.name } }))!)
    .filter((policy) => NAMESPACE_SOURCES.includes(generatedSource(policy, config.keys)?.type as SourceType));
  // A namespace with only access labels is still enforced, egress-wise, by its access-* policies.
  const checked = !intent.protected && (labels[config.keys.profile] !== undefined || own.length + kept.length > 0);
  const granted = checked ? grantedRules([...own, ...kept]) : undefined;
  // Only directions our policies turn default-deny on can be widened (a profile: both; access: egress).
  const enforced = new Set(
    [...own, ...kept].flatMap((policy) => specsOf(policy as { spec?: unknown }).flatMap((spec) => (['ingress', 'egress'] as const).filter((d) => spec[d] !== undefined))),
  );
  return [...foreign]
    .sort((a, b) => compareStrings(a.metadata.name, b.metadata.name))
    .map((policy): ForeignPolicy => {
      const counted = granted ? wideningRules(policy, granted) : undefined;
      const widening = counted ? { ingress: enforced.has('ingress') ? counted.ingress : 0, egress: enforced.has('egress') ? counted.egress : 0 } : undefined;
      return {
        name: policy.metadata.name,
        checked,
        wideningIngressRules: widening ? widening.ingress : null,
        wideningEgressRules: widening ? widening.egress : null,
      };
    });
}

/** The git change that fixes a label problem, naming what the catalog has where that helps. */
function labelFix(problem: LabelProblem, catalog: Catalog, keys: RenderConfig['keys']): string {
  const some = (names: Iterable<string>): string => {
    const list = [...names];
    return list.length === 0 ? '(none in the catalog)' : list.slice(0, 8).join(', ') + (list.length > 8 ? ', ...' : '');
  };
  switch (problem.reason) {
    case 'UnknownProfile':
    case 'InvalidProfile':
      return `in git, set ${keys.profile} to a NetworkProfile (${some(catalog.profiles.keys())}) or add the profile to the catalog`;
    case 'UnknownSharedService':
      return `in git, fix the key to ${keys.accessPrefix}<service> with a SharedService (${some(catalog.services.keys())}) or add the service to the catalog`;
    case 'InvalidAccessLabel':
      return `in git, set ${problem.label} to "true" (quoted) to grant, or remove the label`;
    case 'InvalidEnforcementLabel':
      return `in git, set ${keys.enforcement} to disabled (escape hatch) or enabled, or remove the label`;
    case 'ProtectedNamespace':
      return `in git, remove the profile and access labels (a protected namespace never gets them)`;
  }
}
