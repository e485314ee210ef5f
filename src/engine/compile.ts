// Compiles CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and Kubernetes NetworkPolicy objects
// into rules the engine evaluates: who each rule applies to (its subject), which peers and ports
// it allows or denies, and whether it turns on default-deny for a direction. Every semantic choice
// here follows Cilium 1.18+ (see docs/simulate.md for the citations); what the engine cannot
// decide offline (named ports, toServices, toGroups, node selectors, CIDR groups) compiles to
// "unknown" rather than to a guess.

import { isRecord, type KubeObject, type LabelSelector } from '../kube/types.js';
import { isWholeFamily, parsePrefix, prefixContains, type IpPrefix } from './cidr.js';
import { NAMESPACE_LABELS_PREFIX, POD_NAMESPACE_KEY, type Identity, type Protocol } from './identity.js';
import { compileCiliumSelector, compileKubeSelector, selectorKeys, type IdentityPredicate } from './selector.js';

/** Three-valued match: the engine says "unknown" rather than guess. */
export const NO = 0 as const;
export const YES = 1 as const;
export const UNKNOWN = 2 as const;
export type Tri = typeof NO | typeof YES | typeof UNKNOWN;

export type Direction = 'ingress' | 'egress';
export const DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];

/** One allow or deny rule: the peers it names and the ports it covers. */
export interface CompiledRule {
  /** `CiliumNetworkPolicy shop/profile-standard`. */
  policy: string;
  /** `egress[0]`, `specs[1].ingressDeny[0]`. */
  rule: string;
  peer: (identity: Identity) => Tri;
  /**
   * `port` undefined asks about every port of the protocol: covers all of them, or with `anyPort`
   * (for deny rules) touches any of them. `destination` (the flow's destination) resolves named ports.
   */
  port: (port: number | undefined, protocol: Protocol, destination: Identity, anyPort?: boolean) => Tri;
  /**
   * L7 rules on the matching port entries (`http`, `dns`, ...), and whether a matching entry for this
   * very port carries none (a plain L4 allow of the same port lets everything through the proxy; an
   * L3-only or all-ports allow does not: it is another filter, and the proxy redirect wins).
   */
  l7: (port: number | undefined, protocol: Protocol, destination: Identity) => { kinds: string[]; lifts: boolean };
  /** Why a match can be unknown (named port, toServices, ...), for the verdict's reasons. */
  unknown: string[];
}

export interface CompiledDirection {
  /** This policy turns on default-deny for the direction of the endpoints it selects. */
  defaultDeny: boolean;
  /** Why: `has an egress section`, `enableDefaultDeny.egress: true`, `policyTypes: [Egress]`. */
  defaultDenyWhy: string;
  allows: CompiledRule[];
  denies: CompiledRule[];
}

/** A Cilium rule (a `spec` or one of `specs`) or a whole NetworkPolicy: a subject and two directions. */
export interface CompiledSubject {
  policy: string;
  /** For a CNP or NetworkPolicy, the namespace its subject is confined to; undefined for a CCNP. */
  namespace: string | undefined;
  selects: (identity: Identity) => boolean;
  ingress: CompiledDirection;
  egress: CompiledDirection;
}

export type PolicyKindName = 'CiliumNetworkPolicy' | 'CiliumClusterwideNetworkPolicy' | 'NetworkPolicy';
export const POLICY_KINDS: readonly PolicyKindName[] = ['CiliumNetworkPolicy', 'CiliumClusterwideNetworkPolicy', 'NetworkPolicy'];

export function policyDisplayName(kind: string, namespace: string | undefined, name: string): string {
  return `${kind} ${namespace ? `${namespace}/` : ''}${name}`;
}

const asArray = (value: unknown): unknown[] | undefined => (Array.isArray(value) ? value : undefined);
const asSelector = (value: unknown): LabelSelector => (isRecord(value) ? (value as LabelSelector) : {});

// ---------------------------------------------------------------------------------------------
// Ports

/** One port entry: a range of one protocol or all of them; a named port is unknown. */
interface PortEntry {
  from: number;
  to: number;
  /** undefined: TCP, UDP and SCTP ("ANY", omitted or empty). */
  protocol: Protocol | 'other' | undefined;
  named: string | undefined;
}

const ALL_PORTS: PortEntry = { from: 0, to: 65535, protocol: undefined, named: undefined };

const isWildcard = (entry: PortEntry): boolean => entry.named === undefined && entry.from === 0 && entry.to === 65535;

function portEntryMatches(entry: PortEntry, port: number | undefined, protocol: Protocol, destination: Identity, anyPort = false): Tri {
  if (entry.protocol !== undefined && entry.protocol !== protocol) return NO;
  if (entry.named !== undefined) {
    // A named port is the destination pod's port of that name: nothing else has named ports, and a
    // pod whose ports are not given leaves it unknown.
    if (destination.entity !== 'pod') return NO;
    if (destination.ports === undefined) return UNKNOWN;
    const declared = destination.ports.filter((p) => p.name === entry.named && p.protocol === protocol);
    if (port === undefined) return anyPort && declared.length > 0 ? YES : NO;
    return declared.some((p) => p.port === port) ? YES : NO;
  }
  if (port === undefined) return anyPort || isWildcard(entry) ? YES : NO;
  return port >= entry.from && port <= entry.to ? YES : NO;
}

/** A Cilium `ports[]` item: port "0" or omitted is every port; "http" is a named port. */
function ciliumPortEntry(value: unknown): PortEntry {
  if (!isRecord(value)) return ALL_PORTS;
  const rawProtocol = typeof value.protocol === 'string' ? value.protocol.toUpperCase() : '';
  const protocol: PortEntry['protocol'] =
    rawProtocol === '' || rawProtocol === 'ANY' ? undefined : ['TCP', 'UDP', 'SCTP'].includes(rawProtocol) ? (rawProtocol as Protocol) : 'other';
  const raw = value.port === undefined || value.port === null ? '0' : String(value.port);
  if (!/^[0-9]+$/.test(raw)) return { from: 0, to: 0, protocol, named: raw };
  const port = Number(raw);
  if (port === 0) return { from: 0, to: 65535, protocol, named: undefined };
  const end = typeof value.endPort === 'number' && value.endPort > port ? value.endPort : port;
  return { from: port, to: end, protocol, named: undefined };
}

/** A NetworkPolicy `ports[]` item: protocol defaults to TCP; a missing port is every port. */
function kubePortEntry(value: unknown): PortEntry {
  if (!isRecord(value)) return { ...ALL_PORTS, protocol: 'TCP' };
  const rawProtocol = typeof value.protocol === 'string' ? value.protocol.toUpperCase() : 'TCP';
  const protocol: PortEntry['protocol'] = ['TCP', 'UDP', 'SCTP'].includes(rawProtocol) ? (rawProtocol as Protocol) : 'other';
  if (value.port === undefined || value.port === null) return { from: 0, to: 65535, protocol, named: undefined };
  const raw = String(value.port);
  if (!/^[0-9]+$/.test(raw)) return { from: 0, to: 0, protocol, named: raw };
  const port = Number(raw);
  const end = typeof value.endPort === 'number' && value.endPort > port ? value.endPort : port;
  return { from: port, to: end, protocol, named: undefined };
}

interface PortGroup {
  entries: PortEntry[];
  l7: string[];
}

function l7Kinds(portRule: Record<string, unknown>): string[] {
  const kinds: string[] = [];
  const rules = portRule.rules;
  if (isRecord(rules)) {
    for (const kind of ['http', 'kafka', 'dns']) if ((asArray(rules[kind])?.length ?? 0) > 0) kinds.push(kind);
    if (typeof rules.l7proto === 'string' && rules.l7proto !== '') kinds.push(`l7proto ${rules.l7proto}`);
  }
  if (isRecord(portRule.listener)) kinds.push('listener');
  if ((asArray(portRule.serverNames)?.length ?? 0) > 0) kinds.push('TLS SNI');
  if (isRecord(portRule.terminatingTLS) || isRecord(portRule.originatingTLS)) kinds.push('TLS');
  return kinds;
}

const NO_L7 = { kinds: [], lifts: false };

function portMatcher(groups: PortGroup[] | undefined): Pick<CompiledRule, 'port' | 'l7'> & { named: string[] } {
  if (groups === undefined) return { port: () => YES, l7: () => NO_L7, named: [] };
  const named = groups.flatMap((group) => group.entries.filter((e) => e.named !== undefined).map((e) => e.named!));
  const port = (value: number | undefined, protocol: Protocol, destination: Identity, anyPort = false): Tri => {
    let result: Tri = NO;
    for (const group of groups) {
      for (const entry of group.entries) {
        const match = portEntryMatches(entry, value, protocol, destination, anyPort);
        if (match === YES) return YES;
        if (match === UNKNOWN) result = UNKNOWN;
      }
    }
    return result;
  };
  const l7 = (value: number | undefined, protocol: Protocol, destination: Identity): { kinds: string[]; lifts: boolean } => {
    const kinds = new Set<string>();
    let lifts = false;
    for (const group of groups) {
      const matching = group.entries.filter((entry) => portEntryMatches(entry, value, protocol, destination) === YES);
      if (matching.length === 0) continue;
      if (group.l7.length === 0) lifts ||= matching.some((entry) => !isWildcard(entry));
      for (const kind of group.l7) kinds.add(kind);
    }
    return { kinds: [...kinds].sort(), lifts };
  };
  return { port, l7, named };
}

/** Cilium `toPorts`: absent means every port; each item's `ports` absent or empty means every port. */
function ciliumPortGroups(toPorts: unknown): PortGroup[] | undefined {
  const items = asArray(toPorts);
  if (items === undefined || items.length === 0) return undefined;
  return items.map((item) => {
    const record = isRecord(item) ? item : {};
    const ports = asArray(record.ports);
    return { entries: ports === undefined || ports.length === 0 ? [ALL_PORTS] : ports.map(ciliumPortEntry), l7: l7Kinds(record) };
  });
}

// ---------------------------------------------------------------------------------------------
// Peers

const ENTITY_MEMBERS: Record<string, (identity: Identity) => boolean> = {
  all: () => true,
  world: (identity) => identity.entity === 'world',
  'world-ipv4': (identity) => identity.entity === 'world' && (identity.ip === undefined || identity.ip.family === 4),
  'world-ipv6': (identity) => identity.entity === 'world' && (identity.ip === undefined || identity.ip.family === 6),
  // Cilium's `cluster` entity: every identity inside the cluster, pods and reserved alike.
  cluster: (identity) => identity.entity !== 'world',
  host: (identity) => identity.entity === 'host',
  'remote-node': (identity) => identity.entity === 'remote-node',
  'kube-apiserver': (identity) => identity.entity === 'kube-apiserver',
  health: (identity) => identity.entity === 'health',
  ingress: (identity) => identity.entity === 'ingress',
  init: (identity) => identity.entity === 'init',
  unmanaged: (identity) => identity.entity === 'unmanaged',
  none: () => false,
};

/** CIDR rules select only addresses outside the cluster (world). */
function cidrMatcher(prefix: IpPrefix, except: IpPrefix[]): IdentityPredicate {
  return (identity) => {
    if (identity.entity !== 'world') return false;
    // `reserved:world` without an address stands for any outside address: only a whole-family
    // prefix is sure to contain it.
    if (identity.ip === undefined) return isWholeFamily(prefix);
    return prefixContains(prefix, identity.ip) && !except.some((ex) => prefixContains(ex, identity.ip!));
  };
}

function fqdnMatcher(selector: unknown): IdentityPredicate {
  if (!isRecord(selector)) return () => false;
  const name = typeof selector.matchName === 'string' ? selector.matchName.toLowerCase().replace(/\.$/, '') : undefined;
  const pattern = typeof selector.matchPattern === 'string' ? selector.matchPattern.toLowerCase().replace(/\.$/, '') : undefined;
  let regexp: RegExp | undefined;
  if (pattern !== undefined) {
    // `*` alone matches every name; otherwise `**.` any number of labels, `*` within one label.
    const source =
      pattern === '*'
        ? '.*'
        : pattern
            .split(/(\*\*\.|\*)/)
            .map((part) => (part === '**.' ? '(?:[-a-z0-9_]+\\.)+' : part === '*' ? '[-a-z0-9_]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
            .join('');
    regexp = new RegExp(`^${source}$`);
  }
  return (identity) => {
    if (identity.entity !== 'world' || identity.fqdn === undefined) return false;
    const fqdn = identity.fqdn.toLowerCase().replace(/\.$/, '');
    return (name !== undefined && fqdn === name) || (regexp !== undefined && regexp.test(fqdn));
  };
}

/**
 * `from/toEndpoints` as Cilium's agent rewrites them: a selector naming reserved labels is used
 * as written; otherwise a CNP's selector is confined to the policy's namespace unless it names the
 * pod namespace or namespace labels, and a CCNP's to pods of any namespace.
 */
function peerEndpointSelector(selector: LabelSelector, policyNamespace: string | undefined): IdentityPredicate {
  const keys = selectorKeys(selector);
  const match = compileCiliumSelector(selector);
  if (keys.some((key) => key.source === 'reserved')) return match;
  const k8sOrAny = keys.filter((key) => key.source === 'k8s' || key.source === 'any');
  if (k8sOrAny.some((key) => key.key === POD_NAMESPACE_KEY)) return match;
  if (policyNamespace === undefined) return (identity) => identity.entity === 'pod' && match(identity);
  if (k8sOrAny.some((key) => key.key.startsWith(NAMESPACE_LABELS_PREFIX))) return match;
  return (identity) => identity.namespace === policyNamespace && identity.entity === 'pod' && match(identity);
}

interface PeerSpec {
  /** The rule names peers at L3 (any of the fields below is present, even as an empty list). */
  hasL3: boolean;
  predicates: IdentityPredicate[];
  unknown: string[];
}

const UNMODELLED_PEERS: Record<Direction, string[]> = {
  ingress: ['fromGroups', 'fromNodes', 'fromRequires'],
  egress: ['toGroups', 'toNodes', 'toRequires', 'toServices'],
};

function ciliumPeers(rule: Record<string, unknown>, direction: Direction, policyNamespace: string | undefined): PeerSpec {
  const prefix = direction === 'ingress' ? 'from' : 'to';
  const spec: PeerSpec = { hasL3: false, predicates: [], unknown: [] };
  const endpoints = asArray(rule[`${prefix}Endpoints`]);
  if (endpoints !== undefined) {
    spec.hasL3 = true;
    for (const selector of endpoints) spec.predicates.push(peerEndpointSelector(asSelector(selector), policyNamespace));
  }
  const entities = asArray(rule[`${prefix}Entities`]);
  if (entities !== undefined) {
    spec.hasL3 = true;
    for (const entity of entities) {
      const member = ENTITY_MEMBERS[String(entity)];
      if (member) spec.predicates.push(member);
    }
  }
  const cidrs = asArray(rule[`${prefix}CIDR`]);
  if (cidrs !== undefined) {
    spec.hasL3 = true;
    for (const cidr of cidrs) {
      const prefixValue = typeof cidr === 'string' ? parsePrefix(cidr) : undefined;
      if (prefixValue) spec.predicates.push(cidrMatcher(prefixValue, []));
    }
  }
  const cidrSets = asArray(rule[`${prefix}CIDRSet`]);
  if (cidrSets !== undefined) {
    spec.hasL3 = true;
    for (const set of cidrSets) {
      if (!isRecord(set)) continue;
      if (typeof set.cidr === 'string') {
        const prefixValue = parsePrefix(set.cidr);
        const except = (asArray(set.except) ?? []).map((e) => (typeof e === 'string' ? parsePrefix(e) : undefined)).filter((e) => e !== undefined);
        if (prefixValue) spec.predicates.push(cidrMatcher(prefixValue, except));
      } else if (set.cidrGroupRef !== undefined || set.cidrGroupSelector !== undefined) {
        spec.unknown.push(`${prefix}CIDRSet with a CiliumCIDRGroup (not read by the engine)`);
      }
    }
  }
  if (direction === 'egress') {
    const fqdns = asArray(rule.toFQDNs);
    if (fqdns !== undefined) {
      spec.hasL3 = true;
      for (const fqdn of fqdns) spec.predicates.push(fqdnMatcher(fqdn));
    }
  }
  for (const field of UNMODELLED_PEERS[direction]) {
    if (rule[field] !== undefined) {
      spec.hasL3 = true;
      spec.unknown.push(`${field} (not modelled by the engine)`);
    }
  }
  return spec;
}

function peerMatcher(spec: PeerSpec): (identity: Identity) => Tri {
  const { predicates, unknown } = spec;
  const onMiss: Tri = unknown.length > 0 ? UNKNOWN : NO;
  if (predicates.length === 0) return () => onMiss;
  return (identity) => {
    for (const predicate of predicates) if (predicate(identity)) return YES;
    return onMiss;
  };
}

const NEVER = (): Tri => NO;

const namedPortNote = (name: string): string => `named port ${JSON.stringify(name)} (give the destination pod with --pods to resolve it)`;

function compileCiliumRule(
  raw: unknown,
  direction: Direction,
  policy: string,
  path: string,
  policyNamespace: string | undefined,
): CompiledRule {
  const rule = isRecord(raw) ? raw : {};
  const peers = ciliumPeers(rule, direction, policyNamespace);
  const groups = ciliumPortGroups(rule.toPorts);
  const hasIcmp = (asArray(rule.icmps)?.length ?? 0) > 0;
  const ports = portMatcher(groups);
  const unknown = [...peers.unknown, ...ports.named.map(namedPortNote)];
  // ICMP-only rules allow no TCP, UDP or SCTP.
  const portTest = groups === undefined && hasIcmp ? NEVER : ports.port;
  let peer: (identity: Identity) => Tri;
  if (peers.hasL3) peer = peerMatcher(peers);
  // No L3 peer: with ports (or ICMP types) the rule applies to every peer; with neither, `{}`
  // selects nothing (the way to turn on default-deny and allow nothing).
  else peer = groups !== undefined || hasIcmp ? () => YES : NEVER;
  return { policy, rule: path, peer, port: portTest, l7: ports.l7, unknown };
}

// ---------------------------------------------------------------------------------------------
// Cilium policies

function emptyDirection(): CompiledDirection {
  return { defaultDeny: false, defaultDenyWhy: '', allows: [], denies: [] };
}

function compileCiliumSpec(
  spec: Record<string, unknown>,
  policy: string,
  pathPrefix: string,
  policyNamespace: string | undefined,
): CompiledSubject | undefined {
  let selects: (identity: Identity) => boolean;
  if (isRecord(spec.endpointSelector)) {
    const selector = asSelector(spec.endpointSelector);
    if (policyNamespace === undefined) {
      const match = compileCiliumSelector(selector);
      // An endpointSelector picks endpoints with their own policy: pods and health endpoints.
      selects = (identity) => (identity.entity === 'pod' || identity.entity === 'health') && match(identity);
    } else {
      // A CNP applies in its own namespace only; a namespace the selector names is replaced.
      const matchLabels = { ...selector.matchLabels };
      delete matchLabels[`k8s:${POD_NAMESPACE_KEY}`];
      const match = compileCiliumSelector({ ...selector, matchLabels });
      selects = (identity) => identity.namespace === policyNamespace && identity.entity === 'pod' && match(identity);
    }
  } else {
    // nodeSelector: a host policy (host firewall), which the engine does not model.
    return undefined;
  }
  const compiled: CompiledSubject = { policy, namespace: policyNamespace, selects, ingress: emptyDirection(), egress: emptyDirection() };
  const enableDefaultDeny = isRecord(spec.enableDefaultDeny) ? spec.enableDefaultDeny : {};
  for (const direction of DIRECTIONS) {
    const allowRules = asArray(spec[direction]) ?? [];
    const denyRules = asArray(spec[`${direction}Deny`]) ?? [];
    const target = compiled[direction];
    target.allows = allowRules.map((rule, i) => compileCiliumRule(rule, direction, policy, `${pathPrefix}${direction}[${i}]`, policyNamespace));
    target.denies = denyRules.map((rule, i) => compileCiliumRule(rule, direction, policy, `${pathPrefix}${direction}Deny[${i}]`, policyNamespace));
    // Only a rule with a section for the direction counts, and then unless it opts out
    // (Cilium's computePolicyEnforcementAndRules reads enableDefaultDeny inside that test).
    const explicit = enableDefaultDeny[direction];
    const hasSection = allowRules.length + denyRules.length > 0;
    target.defaultDeny = hasSection && explicit !== false;
    target.defaultDenyWhy = `has ${allowRules.length > 0 ? `an ${direction}` : `an ${direction}Deny`} section${explicit === true ? ` (enableDefaultDeny.${direction}: true)` : ''}`;
  }
  return compiled;
}

function compileCilium(object: KubeObject, namespace: string | undefined): CompiledSubject[] {
  const name = object.metadata?.name ?? '';
  const policy = policyDisplayName(String(object.kind), namespace, name);
  const subjects: CompiledSubject[] = [];
  if (isRecord(object.spec)) {
    const subject = compileCiliumSpec(object.spec, policy, '', namespace);
    if (subject) subjects.push(subject);
  }
  (asArray(object.specs) ?? []).forEach((spec, i) => {
    if (!isRecord(spec)) return;
    const subject = compileCiliumSpec(spec, policy, `specs[${i}].`, namespace);
    if (subject) subjects.push(subject);
  });
  return subjects;
}

// ---------------------------------------------------------------------------------------------
// Kubernetes NetworkPolicy

function kubePeer(raw: unknown, namespace: string): { predicate: IdentityPredicate } {
  const peer = isRecord(raw) ? raw : {};
  if (isRecord(peer.ipBlock)) {
    const prefix = typeof peer.ipBlock.cidr === 'string' ? parsePrefix(peer.ipBlock.cidr) : undefined;
    const except = (asArray(peer.ipBlock.except) ?? []).map((e) => (typeof e === 'string' ? parsePrefix(e) : undefined)).filter((e) => e !== undefined);
    return { predicate: prefix ? cidrMatcher(prefix, except) : () => false };
  }
  const podSelector = isRecord(peer.podSelector) ? compileKubeSelector(asSelector(peer.podSelector)) : undefined;
  const namespaceSelector = isRecord(peer.namespaceSelector) ? compileKubeSelector(asSelector(peer.namespaceSelector)) : undefined;
  if (!podSelector && !namespaceSelector) return { predicate: () => false };
  return {
    predicate: (identity) => {
      if (identity.entity !== 'pod') return false;
      if (namespaceSelector ? !namespaceSelector(identity.namespaceLabels) : identity.namespace !== namespace) return false;
      return podSelector ? podSelector(identity.podLabels) : true;
    },
  };
}

function compileKubeRule(raw: unknown, direction: Direction, policy: string, index: number, namespace: string): CompiledRule {
  const rule = isRecord(raw) ? raw : {};
  const peersRaw = asArray(direction === 'ingress' ? rule.from : rule.to);
  // An empty or missing from/to matches every peer; entries are ORed, fields inside one are ANDed.
  const predicates = (peersRaw ?? []).map((peer) => kubePeer(peer, namespace).predicate);
  const peer = predicates.length === 0 ? (): Tri => YES : (identity: Identity): Tri => (predicates.some((p) => p(identity)) ? YES : NO);
  const portsRaw = asArray(rule.ports);
  const ports = portMatcher(portsRaw === undefined || portsRaw.length === 0 ? undefined : [{ entries: portsRaw.map(kubePortEntry), l7: [] }]);
  return {
    policy,
    rule: `${direction}[${index}]`,
    peer,
    port: ports.port,
    l7: ports.l7,
    unknown: ports.named.map(namedPortNote),
  };
}

function compileNetworkPolicy(object: KubeObject): CompiledSubject[] {
  const namespace = object.metadata?.namespace ?? 'default';
  const policy = policyDisplayName('NetworkPolicy', namespace, object.metadata?.name ?? '');
  const spec = isRecord(object.spec) ? object.spec : {};
  const podSelector = compileKubeSelector(asSelector(spec.podSelector));
  const explicitTypes = asArray(spec.policyTypes)?.map(String);
  const egressRules = asArray(spec.egress) ?? [];
  // The API server's defaulting: Ingress always, Egress when the policy has egress rules.
  const types = explicitTypes && explicitTypes.length > 0 ? explicitTypes : egressRules.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  const why = explicitTypes && explicitTypes.length > 0 ? `policyTypes: [${explicitTypes.join(', ')}]` : `policyTypes defaulted to [${types.join(', ')}]`;
  const subject: CompiledSubject = {
    policy,
    namespace,
    selects: (identity) => identity.entity === 'pod' && identity.namespace === namespace && podSelector(identity.podLabels),
    ingress: emptyDirection(),
    egress: emptyDirection(),
  };
  for (const direction of DIRECTIONS) {
    const enforced = types.includes(direction === 'ingress' ? 'Ingress' : 'Egress');
    if (!enforced) continue;
    const rules = asArray(spec[direction]) ?? [];
    subject[direction] = {
      defaultDeny: true,
      defaultDenyWhy: why,
      allows: rules.map((rule, i) => compileKubeRule(rule, direction, policy, i, namespace)),
      denies: [],
    };
  }
  return [subject];
}

/** The rules of one policy object; a kind the engine does not know compiles to nothing. */
export function compilePolicy(object: KubeObject): CompiledSubject[] {
  switch (object.kind) {
    case 'CiliumNetworkPolicy':
      return compileCilium(object, object.metadata?.namespace ?? 'default');
    case 'CiliumClusterwideNetworkPolicy':
      return compileCilium(object, undefined);
    case 'NetworkPolicy':
      return compileNetworkPolicy(object);
    default:
      return [];
  }
}
