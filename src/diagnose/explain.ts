// Why a flow was dropped, and the label change that fixes it. Each drop is re-run through the
// policy engine on today's catalog, labels and policies: if a SharedService would allow it, the fix
// is its access label; if another profile would, the narrowest one that keeps everything the
// current profile allows; a baseline that allows it but did not apply, a deny rule, the peer's own
// ingress, or nothing in the catalog at all are named as such. Every fix comes with its proof: the
// flow re-run with the fix applied. Pure: the caller reads flows and inputs.

import type { RenderConfig } from '../config.js';
import { PolicyEngine, type FlowVerdict, type Reason, type SideVerdict } from '../engine/engine.js';
import type { KubeObject } from '../kube/types.js';
import { parseGeneratedFrom, renderAccessIngressPolicy, renderAccessPolicy, renderProfilePolicy } from '../render/policies.js';
import { renderClusterObjects } from '../render/render.js';
import { formatEndpoint, type Endpoint, type Protocol } from '../engine/identity.js';
import { formatPort } from '../simulate/flows.js';
import { sideSummary } from '../simulate/format.js';
import { matrixPlan } from '../simulate/matrix.js';
import type { Catalog } from '../catalog/types.js';
import { isRecord } from '../kube/types.js';
import { buildScenario, whatIf, type Scenario, type ScenarioInput } from '../simulate/scenario.js';
import type { PodInput } from '../simulate/inputs.js';
import { POLICY_DROP_REASONS, type DroppedFlow, type FlowEndpoint } from './hubble.js';

export const CAUSES = [
  'missing-access-label',
  'profile-too-narrow',
  'baseline-missing',
  'peer-denies',
  'explicit-deny',
  'not-in-catalog',
  'not-a-policy-drop',
  'allowed-now',
] as const;
export type Cause = (typeof CAUSES)[number];

export interface Fix {
  namespace: string;
  labels: Record<string, string>;
}

export interface Diagnosis {
  cause: Cause;
  fix: Fix | null;
  detail: string;
  /** The flow re-run through the engine with the fix applied. */
  proof: FlowVerdict | null;
}

// What the most common non-policy drops mean, for the detail line.
const DROP_HINTS: Record<string, string> = {
  CT_MAP_INSERTION_FAILED: "Cilium's connection-tracking table is full (bpf-ct-global-*-max)",
  SERVICE_BACKEND_NOT_FOUND: 'the Service has no ready backend',
  AUTH_REQUIRED: 'mutual authentication is required and has not completed',
  UNENCRYPTED_TRAFFIC: 'encryption is enforced and the packet was not encrypted',
  STALE_OR_UNROUTABLE_IP: 'the address is stale or unroutable (a pod that is gone?)',
  FIB_LOOKUP_FAILED: 'the node has no route for the destination',
  NO_EGRESS_GATEWAY: 'the egress gateway policy has no gateway',
  DROP_EP_NOT_READY: 'the endpoint was not ready yet (its policy not computed)',
  DROP_HOST_NOT_READY: 'the host endpoint was not ready yet',
  TTL_EXCEEDED: 'the packet ran out of hops',
};

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const NOTHING: ReadonlySet<string> = new Set();
const labelsKey = (namespace: string, labels: Record<string, string>): string => `${namespace}\u0000${JSON.stringify(Object.entries(labels).sort())}`;

/** What-if scenarios kept (least recently used out). */
const WHAT_IF_CACHE = 32;

export class Diagnoser {
  private readonly base: Scenario;
  private readonly labels: Map<string, Readonly<Record<string, string>>>;
  private readonly whatIf = new Map<string, Scenario>();
  private probes: Probe[] | undefined;
  private small: PolicyEngine | undefined;
  /** What each namespace may do, per label set tried (a profile switch is judged against it). */
  private readonly cellsCache = new Map<string, Set<string>>();

  /** `pods`: workloads from --pods, whose declared ports resolve named ports for the flows' pods. */
  constructor(
    private readonly input: ScenarioInput,
    private readonly pods: readonly PodInput[] = [],
  ) {
    this.base = buildScenario(input);
    this.labels = new Map(input.namespaces.map((ns) => [ns.name, ns.labels]));
  }

  private get config(): RenderConfig {
    return this.input.config;
  }

  /** The world with one namespace's labels replaced; the last few are kept, as drops of one namespace share them. */
  private scenarioWith(namespace: string, labels: Record<string, string>): Scenario {
    const key = labelsKey(namespace, labels);
    let scenario = this.whatIf.get(key);
    if (scenario) {
      this.whatIf.delete(key);
    } else {
      scenario = whatIf(this.base, namespace, labels);
      if (this.whatIf.size >= WHAT_IF_CACHE) this.whatIf.delete(this.whatIf.keys().next().value!);
    }
    this.whatIf.set(key, scenario);
    return scenario;
  }

  private decide(engine: PolicyEngine, flow: DroppedFlow): FlowVerdict {
    return engine.decide({ from: flow.source.endpoint!, to: flow.destination.endpoint!, port: flow.port, protocol: flow.protocol as Protocol });
  }

  diagnose(seen: DroppedFlow): Diagnosis {
    const flow = { ...seen, source: this.withPorts(seen.source), destination: this.withPorts(seen.destination) };
    const policyDrop = flow.verdict === 'AUDIT' || POLICY_DROP_REASONS.includes(flow.dropReason);
    if (!policyDrop) {
      const reason = flow.dropReason || 'not given';
      const hint = DROP_HINTS[flow.dropReason];
      return { cause: 'not-a-policy-drop', fix: null, detail: `drop reason ${reason}: not a policy verdict${hint ? `; ${hint}` : ''}`, proof: null };
    }
    const named = flow.deniedBy.length > 0 ? ` (Cilium names ${flow.deniedBy.join(', ')})` : '';
    if (!flow.source.endpoint || !flow.destination.endpoint) {
      const missing = !flow.source.endpoint ? 'source' : 'destination';
      return { cause: 'not-in-catalog', fix: null, detail: `the flow says too little of its ${missing} (no namespace, labels or address) to be re-run${named}`, proof: null };
    }
    if (flow.protocol !== 'TCP' && flow.protocol !== 'UDP' && flow.protocol !== 'SCTP') {
      if (flow.dropReason === 'POLICY_DENY') return { cause: 'explicit-deny', fix: null, detail: `a deny rule drops ${flow.protocol}${named}`, proof: null };
      return { cause: 'not-in-catalog', fix: null, detail: `${flow.protocol} is not simulated; the catalog's profiles and services allow TCP, UDP and SCTP ports`, proof: null };
    }
    const now = this.decide(this.base.engine, flow);
    const changed = this.labelsChangedSince(flow);

    const deny = [now.egress, now.ingress].flatMap((side) => side.reasons).find((r) => r.type === 'deny');
    if (deny && deny.type === 'deny') return { cause: 'explicit-deny', fix: null, detail: `denied by ${deny.policy} ${deny.rule}; deny rules win over every allow${named}`, proof: null };
    if (flow.dropReason === 'POLICY_DENY') {
      return { cause: 'explicit-deny', fix: null, detail: `dropped by a deny rule${named || ' the inputs do not have (give the cluster\'s policies with --policies or use --kubeconfig)'}`, proof: null };
    }

    if (now.verdict === 'allowed') return this.allowedNow(flow, now, changed);

    const egressBlocked = now.egress.verdict !== 'allowed';
    const sourceNamespace = flow.source.endpoint.kind === 'pod' ? flow.source.endpoint.namespace : undefined;
    const destination = flow.destination.endpoint;
    const destinationNamespace = destination.kind === 'pod' ? destination.namespace : undefined;

    // A grant on the source side can open either side (its access-<S>-ingress, for manageIngress).
    if (sourceNamespace !== undefined && this.labellable(sourceNamespace)) {
      const grant = this.tryAccess(flow, sourceNamespace, egressBlocked ? 'egress' : 'ingress');
      if (grant) return grant;
      if (egressBlocked) {
        const profile = this.tryProfiles(flow, sourceNamespace, 'egress');
        if (profile) return profile;
      }
    }
    if (egressBlocked) {
      const who = sourceNamespace === undefined ? formatEndpoint(flow.source.endpoint) : sourceNamespace;
      const why = sourceNamespace !== undefined && !this.labellable(sourceNamespace) ? `${who} is protected: its own policies decide (${sideSummary(now.egress)})` : `${who}'s egress: ${sideSummary(now.egress)}`;
      return {
        cause: 'not-in-catalog',
        fix: null,
        detail: `nothing in the catalog allows ${who} to reach ${flow.destination.text} on ${formatPort(flow.port, flow.protocol as Protocol)}: a request for the platform team (a profile or a SharedService). ${why}${changed}`,
        proof: null,
      };
    }
    // The source may send; the destination refuses.
    if (destinationNamespace !== undefined && this.labellable(destinationNamespace) && this.refusedByOurs(now.ingress)) {
      const profile = this.tryProfiles(flow, destinationNamespace, 'ingress');
      if (profile) return profile;
    }
    return {
      cause: 'peer-denies',
      fix: null,
      detail: `${formatEndpoint(flow.source.endpoint)} may send; ${destinationNamespace ?? flow.destination.text} refuses it: ${describeRefusal(now.ingress)}${changed}`,
      proof: null,
    };
  }

  /**
   * A flow's pod with the ports its workload declares (from --pods): the workload of that name in
   * the namespace, or one whose pod labels the flow's pod carries.
   */
  private withPorts(side: FlowEndpoint): FlowEndpoint {
    const endpoint = side.endpoint;
    if (endpoint?.kind !== 'pod' || endpoint.ports) return side;
    const inNamespace = this.pods.filter((pod) => pod.namespace === endpoint.namespace);
    const pod =
      inNamespace.find((candidate) => candidate.name === endpoint.name) ??
      inNamespace.find((candidate) => Object.keys(candidate.labels).length > 0 && Object.entries(candidate.labels).every(([key, value]) => endpoint.labels[key] === value));
    return pod ? { ...side, endpoint: { ...endpoint, ports: pod.ports } } : side;
  }

  /** The inputs allow the flow: a baseline that did not apply, or a drop from before a change. */
  private allowedNow(flow: DroppedFlow, now: FlowVerdict, changed: string): Diagnosis {
    const side = flow.direction === 'ingress' ? now.ingress : now.egress;
    const allows = side.reasons.filter((r): r is Extract<Reason, { type: 'allow' }> => r.type === 'allow');
    const baseline = allows[0];
    // Only when baselines alone allow it: a profile or a grant that also allows it could not have been missing for the same reason.
    if (baseline && allows.every((r) => r.policy.startsWith('CiliumClusterwideNetworkPolicy baseline-'))) {
      const name = baseline.policy.slice('CiliumClusterwideNetworkPolicy '.length);
      return {
        cause: 'baseline-missing',
        fix: null,
        detail: `${name} (${baseline.rule}) allows it, so it did not apply to ${flow.direction === 'ingress' ? flow.destination.text : flow.source.text} when the flow was seen: check that the CCNP exists and is in sync (kubectl get ccnp ${name}; netpol-profiles status)${changed}`,
        proof: now,
      };
    }
    return {
      cause: 'allowed-now',
      fix: null,
      detail: `today's labels and policies allow it (egress: ${sideSummary(now.egress)}; ingress: ${sideSummary(now.ingress)})${changed || ': the drop predates a change, or the cluster enforces policies these inputs lack (use --kubeconfig, or give them with --policies)'}`,
      proof: now,
    };
  }

  /**
   * A cheap first look before a what-if: could these new objects, with the baselines (as if no
   * namespace were left out of them) and the namespace's access objects, allow the flow's side at
   * all? Never says no where the full what-if would say yes: only the policies selecting the
   * namespace's endpoint matter for its side, and those are all here or unchanged.
   */
  private mayAllow(flow: DroppedFlow, namespace: string, labels: Record<string, string>, objects: readonly KubeObject[], side: 'egress' | 'ingress'): boolean {
    // The baselines (as if no namespace were left out of them) and the others' policies, compiled
    // once; each candidate adds its objects and the namespace's access objects.
    this.small ??= new PolicyEngine({ namespaces: this.input.namespaces, policies: [...renderClusterObjects([], this.input.catalog, this.config).objects, ...this.input.otherPolicies] });
    const own = this.base.ours.filter((object) => object.metadata?.namespace === namespace && parseGeneratedFrom(object.metadata?.labels?.[this.config.keys.generatedFrom])?.type === 'access');
    const engine = this.small.derive({ remove: NOTHING, add: [...objects, ...own], namespaces: [{ name: namespace, labels }] });
    return this.decide(engine, flow)[side].verdict === 'allowed';
  }

  /** Labels of ours can change its traffic: not protected. A namespace the inputs lack counts as unlabelled. */
  private labellable(namespace: string): boolean {
    const intent = this.base.rendered.namespaces.find((i) => i.namespace === namespace);
    if (intent) return !intent.protected;
    return !this.config.protectedNamespaces.has(namespace);
  }

  private currentLabels(namespace: string): Record<string, string> {
    return { ...this.labels.get(namespace) };
  }

  private tryAccess(flow: DroppedFlow, namespace: string, side: 'egress' | 'ingress'): Diagnosis | undefined {
    const current = this.currentLabels(namespace);
    const prefix = this.config.keys.accessPrefix;
    for (const service of [...this.input.catalog.services.keys()].sort(compare)) {
      const key = `${prefix}${service}`;
      if (current[key] === 'true') continue;
      const labels = { ...current, [key]: 'true' };
      const definition = this.input.catalog.services.get(service)!;
      const candidate =
        side === 'egress' ? [renderAccessPolicy(namespace, definition, this.config.keys)] : [renderAccessIngressPolicy(definition, [namespace], this.config.keys)];
      if (!this.mayAllow(flow, namespace, labels, candidate.filter((o) => o !== undefined), side)) continue;
      const proof = this.decide(this.scenarioWith(namespace, labels).engine, flow);
      if (proof[side].verdict !== 'allowed') continue;
      if (proof.verdict === 'denied') {
        // The grant would let the source send; the destination's own policy still refuses: no fix of ours.
        return {
          cause: 'peer-denies',
          fix: null,
          detail: `${key}="true" on ${namespace} would let it send (SharedService ${service}), but ${flow.destination.text} refuses it: ${describeRefusal(proof.ingress)}`,
          proof: null,
        };
      }
      return {
        cause: 'missing-access-label',
        fix: { namespace, labels: { [key]: 'true' } },
        detail: `SharedService ${service} allows ${namespace} to reach ${flow.destination.text} on ${formatPort(flow.port, flow.protocol as Protocol)}${
          proof.verdict === 'unknown' ? `; whether ${flow.destination.text} then admits it cannot be decided offline (${sideSummary(proof.ingress)})` : ''
        }`,
        proof,
      };
    }
    return undefined;
  }

  /** The narrowest profile that allows the flow, preferring one that keeps everything the current one allows. */
  private tryProfiles(flow: DroppedFlow, namespace: string, side: 'egress' | 'ingress'): Diagnosis | undefined {
    const current = this.currentLabels(namespace);
    const profileKey = this.config.keys.profile;
    const currentProfile = current[profileKey];
    const before = this.allowedCells(this.base, namespace, labelsKey(namespace, current));
    const candidates: Array<{ profile: string; proof: FlowVerdict; lost: string[]; size: number }> = [];
    for (const profile of this.input.catalog.profiles.keys()) {
      if (profile === currentProfile) continue;
      const labels = { ...current, [profileKey]: profile };
      const own = [renderProfilePolicy(namespace, this.input.catalog.profiles.get(profile)!, this.config.keys)];
      if (!this.mayAllow(flow, namespace, labels, own, side)) continue;
      const scenario = this.scenarioWith(namespace, labels);
      const proof = this.decide(scenario.engine, flow);
      if (proof[side].verdict !== 'allowed') continue;
      const after = this.allowedCells(scenario, namespace, labelsKey(namespace, labels));
      candidates.push({ profile, proof, lost: [...before].filter((cell) => !after.has(cell)), size: after.size });
    }
    if (candidates.length === 0) return undefined;
    candidates.sort((a, b) => Number(a.lost.length > 0) - Number(b.lost.length > 0) || a.size - b.size || compare(a.profile, b.profile));
    const best = candidates[0]!;
    const from = currentProfile === undefined ? 'no profile' : `profile ${currentProfile}`;
    const keeps =
      best.lost.length === 0
        ? `and keeps everything ${from} allows`
        : `but no profile that allows it keeps everything ${from} allows: the switch would lose ${best.lost.length} (${best.lost.slice(0, 3).join('; ')}${best.lost.length > 3 ? '; …' : ''})`;
    const what = side === 'egress' ? `${namespace} to reach ${flow.destination.text}` : `${flow.source.text} to reach ${namespace}`;
    return {
      cause: 'profile-too-narrow',
      fix: { namespace, labels: { [profileKey]: best.profile } },
      detail: `profile ${best.profile} allows ${what} on ${formatPort(flow.port, flow.protocol as Protocol)} ${keeps}`,
      proof: best.proof,
    };
  }

  /**
   * What a namespace's unlabelled pod may do, as `egress to|ingress from PEER PORT` cells. The peers
   * are every namespace (as in the simulate matrix), the matrix's destinations, and the peers the
   * catalog's profiles name (a gateway, a monitoring pod), on the ports their rules name.
   */
  private allowedCells(scenario: Scenario, namespace: string, key: string): Set<string> {
    const cached = this.cellsCache.get(key);
    if (cached) return cached;
    this.probes ??= probesOf(this.input.namespaces.map((ns) => ns.name), this.input.catalog);
    const engine = scenario.engine;
    const self = engine.identity({ kind: 'pod', namespace, labels: {} });
    const cells = new Set<string>();
    for (const probe of this.probes) {
      const peer = engine.identity(probe.endpoint);
      if (peer.key === self.key) continue;
      const text = `${formatEndpoint(probe.endpoint)} ${formatPort(probe.port, probe.protocol)}`;
      if (engine.sideVerdict(self, peer, 'egress', probe.port, probe.protocol) === 'allowed') cells.add(`egress to ${text}`);
      if (engine.sideVerdict(self, peer, 'ingress', probe.port, probe.protocol) === 'allowed') cells.add(`ingress from ${text}`);
    }
    this.cellsCache.set(key, cells);
    return cells;
  }

  /** Whether the side is in default-deny because of an object of ours (a profile) rather than only someone else's. */
  private refusedByOurs(side: SideVerdict): boolean {
    return side.reasons.some((r) => r.type === 'default-deny' && /^CiliumNetworkPolicy [^/]+\/profile-/.test(r.policy));
  }

  /** " (when the flow was seen, shop had profile=standard; today profile=internal)" when our labels changed since. */
  private labelsChangedSince(flow: DroppedFlow): string {
    const notes: string[] = [];
    for (const side of [flow.source, flow.destination]) {
      if (!side.namespaceLabels || side.endpoint?.kind !== 'pod') continue;
      const namespace = side.endpoint.namespace;
      const today = this.labels.get(namespace);
      if (!today) continue;
      const ours = (labels: Readonly<Record<string, string>>) =>
        Object.entries(labels)
          .filter(([key]) => key.startsWith(`${this.config.keys.domain}/`) || key.startsWith(this.config.keys.accessPrefix))
          .map(([key, value]) => `${key}=${value}`)
          .sort()
          .join(', ');
      const then = ours(side.namespaceLabels);
      const nowLabels = ours(today);
      if (then !== nowLabels) notes.push(`when the flow was seen ${namespace} had ${then || 'no labels of ours'}; today ${nowLabels || 'none'}`);
    }
    return notes.length > 0 ? ` (${[...new Set(notes)].join('; ')})` : '';
  }
}

interface Probe {
  endpoint: Endpoint;
  port: number;
  protocol: Protocol;
}

/** The peers and ports a profile switch is judged on: the matrix's, and those the profiles' rules name. */
function probesOf(namespaces: readonly string[], catalog: Catalog): Probe[] {
  const plan = matrixPlan(namespaces, catalog, [], { port: 8080, protocol: 'TCP' });
  const probes: Probe[] = plan.targets.map((t) => ({ endpoint: t.endpoint, port: t.port, protocol: t.protocol }));
  for (const extra of [{ kind: 'reserved', entity: 'host' }, { kind: 'reserved', entity: 'remote-node' }] as Endpoint[]) probes.push({ endpoint: extra, port: 8080, protocol: 'TCP' });
  for (const profile of catalog.profiles.values()) {
    for (const rule of [...profile.ingress, ...profile.egress]) {
      const ports = rulePorts(rule);
      const selectors = [...asList(rule.fromEndpoints), ...asList(rule.toEndpoints)];
      for (const selector of selectors) {
        const labels: Record<string, string> = {};
        let namespace: string | undefined;
        for (const [key, value] of Object.entries(isRecord(selector) && isRecord(selector.matchLabels) ? selector.matchLabels : {})) {
          const bare = key.replace(/^(k8s|any):/, '');
          if (bare === 'io.kubernetes.pod.namespace') namespace = String(value);
          else if (!bare.startsWith('io.cilium.k8s.')) labels[bare] = String(value);
        }
        if (namespace !== undefined) for (const port of ports) probes.push({ endpoint: { kind: 'pod', namespace, labels }, ...port });
      }
      if (asList(rule.toEntities).includes('world') || asList(rule.fromEntities).includes('world')) for (const port of ports) probes.push({ endpoint: { kind: 'world' }, ...port });
    }
  }
  const seen = new Set<string>();
  return probes.filter((probe) => {
    const key = `${JSON.stringify(probe.endpoint)} ${probe.port}/${probe.protocol}`;
    return !seen.has(key) && seen.add(key) !== undefined;
  });
}

const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** The numeric ports a rule names (TCP for ANY), or 8080/TCP when it names none. */
function rulePorts(rule: Record<string, unknown>): Array<{ port: number; protocol: Protocol }> {
  const ports: Array<{ port: number; protocol: Protocol }> = [];
  for (const entry of asList(rule.toPorts)) {
    for (const port of asList(isRecord(entry) ? entry.ports : undefined)) {
      if (!isRecord(port) || !/^[1-9][0-9]*$/.test(String(port.port ?? ''))) continue;
      const protocol = String(port.protocol ?? 'TCP').toUpperCase();
      ports.push({ port: Number(port.port), protocol: protocol === 'UDP' || protocol === 'SCTP' ? protocol : 'TCP' });
    }
  }
  return ports.length > 0 ? ports : [{ port: 8080, protocol: 'TCP' }];
}

function describeRefusal(side: SideVerdict): string {
  const policies = side.reasons.filter((r): r is Extract<Reason, { type: 'default-deny' }> => r.type === 'default-deny').map((r) => r.policy);
  if (policies.length > 0) return `its ingress is in default-deny (${policies.join(', ')}) and no rule admits this flow`;
  return sideSummary(side);
}
