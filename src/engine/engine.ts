// The policy engine: given namespaces and policy objects, decides a flow `from → to : port/proto`
// the way Cilium 1.18+ does, and says why. Pure and synchronous. Policies are indexed by the
// namespace their subject is confined to (CNPs, NetworkPolicies) so deciding a flow looks only at
// the policies that can select its two endpoints; what each endpoint is selected by is computed
// once per distinct endpoint.
//
// A flow is allowed when the source's egress and the destination's ingress both allow it. Only
// pods and health endpoints have policy of their own; for world, host and the other reserved
// identities only the pod side applies. Per side: a matching deny rule wins over everything; host
// to a local pod is allowed (allow-localhost); a direction no selecting policy puts in default-deny
// allows everything; otherwise some allow rule must match peer and port.

import type { KubeObject } from '../kube/types.js';
import { compilePolicy, NO, UNKNOWN, YES, type CompiledRule, type CompiledSubject, type Direction, type Tri } from './compile.js';
import { buildIdentity, endpointKey, formatEndpoint, isPolicedEndpoint, type Endpoint, type Identity, type NamespaceLabels, type Protocol } from './identity.js';

export type Verdict = 'allowed' | 'denied' | 'unknown';

export interface Flow {
  from: Endpoint;
  to: Endpoint;
  /** Undefined asks about every port of the protocol (an L3 question). */
  port?: number | undefined;
  protocol: Protocol;
}

export type Reason =
  | { type: 'allow'; policy: string; rule: string; l7?: string[] }
  | { type: 'deny'; policy: string; rule: string }
  | { type: 'default-deny'; policy: string; detail: string }
  | { type: 'not-enforced'; detail: string }
  | { type: 'allow-localhost'; detail: string }
  | { type: 'not-an-endpoint'; detail: string }
  | { type: 'unknown'; policy: string; rule: string; detail: string };

export interface SideVerdict {
  /** The endpoint on this side is in default-deny for this direction. */
  enforced: boolean;
  verdict: Verdict;
  /** Allowed at L4, then subject to these L7 rules in Cilium's proxy. */
  l7?: string[];
  reasons: Reason[];
}

export interface FlowVerdict {
  verdict: Verdict;
  egress: SideVerdict;
  ingress: SideVerdict;
}

/** What one endpoint is selected by, per direction. */
interface DirectionPolicy {
  defaultDeny: Array<{ policy: string; detail: string }>;
  allows: CompiledRule[];
  denies: CompiledRule[];
}

interface EndpointPolicy {
  ingress: DirectionPolicy;
  egress: DirectionPolicy;
}

const NO_POLICY: EndpointPolicy = {
  ingress: { defaultDeny: [], allows: [], denies: [] },
  egress: { defaultDeny: [], allows: [], denies: [] },
};

export interface EngineInput {
  namespaces: readonly NamespaceLabels[];
  /** CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and NetworkPolicy objects; other kinds are ignored. */
  policies: readonly KubeObject[];
}

export class PolicyEngine {
  private readonly namespaceLabels = new Map<string, Readonly<Record<string, string>>>();
  private readonly namespaced = new Map<string, CompiledSubject[]>();
  private readonly clusterwide: CompiledSubject[] = [];
  private readonly identities = new Map<string, Identity>();
  private readonly endpointPolicies = new Map<string, EndpointPolicy>();

  constructor(input: EngineInput) {
    for (const namespace of input.namespaces) this.namespaceLabels.set(namespace.name, namespace.labels);
    for (const policy of input.policies) this.addSubjects(compilePolicy(policy));
  }

  private addSubjects(subjects: readonly CompiledSubject[]): void {
    for (const subject of subjects) {
      if (subject.namespace === undefined) {
        this.clusterwide.push(subject);
      } else {
        let list = this.namespaced.get(subject.namespace);
        if (!list) this.namespaced.set(subject.namespace, (list = []));
        list.push(subject);
      }
    }
  }

  /**
   * The same world with some policies replaced: those named in `remove` (`Kind namespace/name`, as
   * reasons name them) are left out, `add` compiled in; namespace labels can be replaced too. The
   * other policies are shared, already compiled: a what-if costs what changes, not the world.
   */
  derive(change: { remove: ReadonlySet<string>; add: readonly KubeObject[]; namespaces?: readonly NamespaceLabels[] }): PolicyEngine {
    const next = new PolicyEngine({ namespaces: [], policies: [] });
    for (const [name, labels] of this.namespaceLabels) next.namespaceLabels.set(name, labels);
    for (const namespace of change.namespaces ?? []) next.namespaceLabels.set(namespace.name, namespace.labels);
    const keep = (subject: CompiledSubject) => !change.remove.has(subject.policy);
    next.addSubjects(this.clusterwide.filter(keep));
    for (const subjects of this.namespaced.values()) next.addSubjects(subjects.filter(keep));
    for (const policy of change.add) next.addSubjects(compilePolicy(policy));
    return next;
  }

  /** Namespaces the engine was given, by name. */
  hasNamespace(name: string): boolean {
    return this.namespaceLabels.has(name);
  }

  identity(endpoint: Endpoint): Identity {
    const probe = endpointKey(endpoint);
    let identity = this.identities.get(probe);
    if (!identity) {
      identity = buildIdentity(endpoint, endpoint.kind === 'pod' ? this.namespaceLabels.get(endpoint.namespace) : undefined);
      this.identities.set(identity.key, identity);
    }
    return identity;
  }

  private policyOf(identity: Identity): EndpointPolicy {
    if (!isPolicedEndpoint(identity)) return NO_POLICY;
    let policy = this.endpointPolicies.get(identity.key);
    if (policy) return policy;
    const candidates = [...(identity.namespace !== undefined ? (this.namespaced.get(identity.namespace) ?? []) : []), ...this.clusterwide];
    policy = { ingress: { defaultDeny: [], allows: [], denies: [] }, egress: { defaultDeny: [], allows: [], denies: [] } };
    for (const subject of candidates) {
      if (!subject.selects(identity)) continue;
      for (const direction of ['ingress', 'egress'] as const) {
        const source = subject[direction];
        const target = policy[direction];
        if (source.defaultDeny) target.defaultDeny.push({ policy: subject.policy, detail: source.defaultDenyWhy });
        target.allows.push(...source.allows);
        target.denies.push(...source.denies);
      }
    }
    this.endpointPolicies.set(identity.key, policy);
    return policy;
  }

  /** The verdict alone, without reasons: the fast path for matrices. */
  verdictOf(from: Identity, to: Identity, port: number | undefined, protocol: Protocol): Verdict {
    const egress = this.sideCode(from, to, 'egress', port, protocol);
    if (egress === NO) return 'denied';
    const ingress = this.sideCode(to, from, 'ingress', port, protocol);
    if (ingress === NO) return 'denied';
    return egress === YES && ingress === YES ? 'allowed' : 'unknown';
  }

  /** One side alone, explained (with the L7 rules the proxy applies). */
  sideResult(subject: Identity, peer: Identity, direction: Direction, port: number | undefined, protocol: Protocol): SideVerdict {
    return this.side(subject, peer, direction, port, protocol);
  }

  /** One side alone: what `subject`'s own policy says of traffic with `peer` in `direction`. */
  sideVerdict(subject: Identity, peer: Identity, direction: Direction, port: number | undefined, protocol: Protocol): Verdict {
    const code = this.sideCode(subject, peer, direction, port, protocol);
    return code === YES ? 'allowed' : code === NO ? 'denied' : 'unknown';
  }

  private sideCode(subject: Identity, peer: Identity, direction: Direction, port: number | undefined, protocol: Protocol): Tri {
    if (!isPolicedEndpoint(subject)) return YES;
    const policy = this.policyOf(subject)[direction];
    let uncertain = false;
    const destination = direction === 'ingress' ? subject : peer;
    for (const rule of policy.denies) {
      const match = matchRule(rule, peer, destination, port, protocol, true);
      if (match === YES) return NO;
      if (match === UNKNOWN) uncertain = true;
    }
    if (direction === 'ingress' && peer.entity === 'host') return uncertain ? UNKNOWN : YES;
    if (policy.defaultDeny.length === 0) return uncertain ? UNKNOWN : YES;
    let allowUnknown = false;
    for (const rule of policy.allows) {
      const match = matchRule(rule, peer, destination, port, protocol);
      if (match === YES) return uncertain ? UNKNOWN : YES;
      if (match === UNKNOWN) allowUnknown = true;
    }
    return allowUnknown ? UNKNOWN : NO;
  }

  /** The verdict with its reasons for both sides. */
  decide(flow: Flow): FlowVerdict {
    const from = this.identity(flow.from);
    const to = this.identity(flow.to);
    const egress = this.side(from, to, 'egress', flow.port, flow.protocol);
    const ingress = this.side(to, from, 'ingress', flow.port, flow.protocol);
    const verdict: Verdict =
      egress.verdict === 'denied' || ingress.verdict === 'denied'
        ? 'denied'
        : egress.verdict === 'allowed' && ingress.verdict === 'allowed'
          ? 'allowed'
          : 'unknown';
    return { verdict, egress, ingress };
  }

  private side(subject: Identity, peer: Identity, direction: Direction, port: number | undefined, protocol: Protocol): SideVerdict {
    if (!isPolicedEndpoint(subject)) {
      return {
        enforced: false,
        verdict: 'allowed',
        reasons: [{ type: 'not-an-endpoint', detail: `${formatEndpoint(subject.endpoint)} is not a Cilium endpoint: no ${direction} policy applies to it` }],
      };
    }
    const policy = this.policyOf(subject)[direction];
    const enforced = policy.defaultDeny.length > 0;
    const destination = direction === 'ingress' ? subject : peer;
    const unknowns: Reason[] = [];
    for (const rule of policy.denies) {
      // Without a port, the question is "every port": a deny of any of them answers no.
      const match = matchRule(rule, peer, destination, port, protocol, true);
      if (match === YES) return { enforced, verdict: 'denied', reasons: [{ type: 'deny', policy: rule.policy, rule: rule.rule }] };
      if (match === UNKNOWN) unknowns.push(unknownReason(rule));
    }
    const settle = (allowed: Reason[], l7?: string[]): SideVerdict => {
      if (unknowns.length > 0) return { enforced, verdict: 'unknown', reasons: [...unknowns, ...allowed] };
      const verdict: SideVerdict = { enforced, verdict: 'allowed', reasons: allowed };
      if (l7 && l7.length > 0) verdict.l7 = l7;
      return verdict;
    };
    if (direction === 'ingress' && peer.entity === 'host') {
      return settle([{ type: 'allow-localhost', detail: 'the host always reaches its local pods (Cilium allow-localhost)' }]);
    }
    const allows: Reason[] = [];
    const allowUnknowns: Reason[] = [];
    const kinds = new Set<string>();
    let lifted = false;
    for (const rule of policy.allows) {
      const match = matchRule(rule, peer, destination, port, protocol);
      if (match === YES) {
        const l7 = rule.l7(port, protocol, destination);
        lifted ||= l7.lifts;
        for (const kind of l7.kinds) kinds.add(kind);
        allows.push(l7.kinds.length > 0 ? { type: 'allow', policy: rule.policy, rule: rule.rule, l7: l7.kinds } : { type: 'allow', policy: rule.policy, rule: rule.rule });
      } else if (match === UNKNOWN) {
        allowUnknowns.push(unknownReason(rule));
      }
    }
    // L7 rules on the port send the flow through the proxy, default-deny or not ("EnableDefaultDeny
    // does not apply to layer-7 policy"), unless a plain allow of this very port lifts them.
    const l7 = lifted ? [] : [...kinds].sort();
    if (!enforced) {
      return settle([{ type: 'not-enforced', detail: `no policy selecting ${formatEndpoint(subject.endpoint)} turns on ${direction} default-deny` }], l7);
    }
    if (allows.length > 0) return settle(allows, l7);
    if (allowUnknowns.length > 0) return { enforced, verdict: 'unknown', reasons: [...unknowns, ...allowUnknowns] };
    return {
      enforced,
      verdict: 'denied',
      reasons: policy.defaultDeny.map(({ policy: name, detail }): Reason => ({ type: 'default-deny', policy: name, detail })),
    };
  }
}

function matchRule(rule: CompiledRule, peer: Identity, destination: Identity, port: number | undefined, protocol: Protocol, anyPort = false): Tri {
  const ports = rule.port(port, protocol, destination, anyPort);
  if (ports === NO) return NO;
  const peers = rule.peer(peer);
  if (peers === NO) return NO;
  return ports === YES && peers === YES ? YES : UNKNOWN;
}

function unknownReason(rule: CompiledRule): Reason {
  return { type: 'unknown', policy: rule.policy, rule: rule.rule, detail: rule.unknown.join('; ') || 'cannot be decided offline' };
}

/** One line for a reason, as the table prints it. */
export function formatReason(reason: Reason): string {
  switch (reason.type) {
    case 'allow':
      return `allowed by ${reason.policy} ${reason.rule}${reason.l7 ? ` (then L7 ${reason.l7.join(', ')} in the proxy)` : ''}`;
    case 'deny':
      return `denied by ${reason.policy} ${reason.rule} (deny rules win over every allow)`;
    case 'default-deny':
      return `default-deny from ${reason.policy} (${reason.detail}); no rule allows it`;
    case 'unknown':
      return `cannot decide ${reason.policy} ${reason.rule}: ${reason.detail}`;
    default:
      return reason.detail;
  }
}
