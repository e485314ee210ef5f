// Hubble flows as `hubble observe -o json` (and `-o jsonpb`, the same since Hubble CLI 0.11) prints
// them: one JSON object a line, a GetFlowsResponse (`{"flow": {...}, "node_name", "time"}`) or a
// bare Flow (HUBBLE_COMPAT=legacy-json-output). Field names are the proto's (`drop_reason_desc`,
// `traffic_direction`, `IP`, `l4`), enums are their names (or numbers the CLI did not know), zero
// values are left out. Only what a drop's explanation needs is read.

import { parseIp } from '../engine/cidr.js';
import { NAMESPACE_LABELS_PREFIX, POD_NAMESPACE_KEY, SERVICE_ACCOUNT_KEY, type Endpoint, type Protocol } from '../engine/identity.js';
import { isDnsLabel, isDnsSubdomain } from '../kube/names.js';
import { isRecord } from '../kube/types.js';

/** Cilium's DropReason enum (api/v1/flow/flow.proto), by number: names for flows that give only `drop_reason`. */
const DROP_REASONS: Record<number, string> = {
  130: 'INVALID_SOURCE_MAC', 131: 'INVALID_DESTINATION_MAC', 132: 'INVALID_SOURCE_IP', 133: 'POLICY_DENIED', 134: 'INVALID_PACKET_DROPPED',
  135: 'CT_TRUNCATED_OR_INVALID_HEADER', 136: 'CT_MISSING_TCP_ACK_FLAG', 137: 'CT_UNKNOWN_L4_PROTOCOL', 138: 'CT_CANNOT_CREATE_ENTRY_FROM_PACKET',
  139: 'UNSUPPORTED_L3_PROTOCOL', 140: 'MISSED_TAIL_CALL', 141: 'ERROR_WRITING_TO_PACKET', 142: 'UNKNOWN_L4_PROTOCOL', 143: 'UNKNOWN_ICMPV4_CODE',
  144: 'UNKNOWN_ICMPV4_TYPE', 145: 'UNKNOWN_ICMPV6_CODE', 146: 'UNKNOWN_ICMPV6_TYPE', 147: 'ERROR_RETRIEVING_TUNNEL_KEY', 148: 'ERROR_RETRIEVING_TUNNEL_OPTIONS',
  149: 'INVALID_GENEVE_OPTION', 150: 'UNKNOWN_L3_TARGET_ADDRESS', 151: 'STALE_OR_UNROUTABLE_IP', 152: 'NO_MATCHING_LOCAL_CONTAINER_FOUND',
  153: 'ERROR_WHILE_CORRECTING_L3_CHECKSUM', 154: 'ERROR_WHILE_CORRECTING_L4_CHECKSUM', 155: 'CT_MAP_INSERTION_FAILED', 156: 'INVALID_IPV6_EXTENSION_HEADER',
  157: 'IP_FRAGMENTATION_NOT_SUPPORTED', 158: 'SERVICE_BACKEND_NOT_FOUND', 160: 'NO_TUNNEL_OR_ENCAPSULATION_ENDPOINT', 161: 'FAILED_TO_INSERT_INTO_PROXYMAP',
  162: 'REACHED_EDT_RATE_LIMITING_DROP_HORIZON', 163: 'UNKNOWN_CONNECTION_TRACKING_STATE', 164: 'LOCAL_HOST_IS_UNREACHABLE',
  165: 'NO_CONFIGURATION_AVAILABLE_TO_PERFORM_POLICY_DECISION', 166: 'UNSUPPORTED_L2_PROTOCOL', 167: 'NO_MAPPING_FOR_NAT_MASQUERADE',
  168: 'UNSUPPORTED_PROTOCOL_FOR_NAT_MASQUERADE', 169: 'FIB_LOOKUP_FAILED', 170: 'ENCAPSULATION_TRAFFIC_IS_PROHIBITED', 171: 'INVALID_IDENTITY',
  172: 'UNKNOWN_SENDER', 173: 'NAT_NOT_NEEDED', 174: 'IS_A_CLUSTERIP', 175: 'FIRST_LOGICAL_DATAGRAM_FRAGMENT_NOT_FOUND', 176: 'FORBIDDEN_ICMPV6_MESSAGE',
  177: 'DENIED_BY_LB_SRC_RANGE_CHECK', 178: 'SOCKET_LOOKUP_FAILED', 179: 'SOCKET_ASSIGN_FAILED', 180: 'PROXY_REDIRECTION_NOT_SUPPORTED_FOR_PROTOCOL',
  181: 'POLICY_DENY', 182: 'VLAN_FILTERED', 183: 'INVALID_VNI', 184: 'INVALID_TC_BUFFER', 185: 'NO_SID', 186: 'MISSING_SRV6_STATE', 187: 'NAT46', 188: 'NAT64',
  189: 'AUTH_REQUIRED', 190: 'CT_NO_MAP_FOUND', 191: 'SNAT_NO_MAP_FOUND', 192: 'INVALID_CLUSTER_ID', 193: 'UNSUPPORTED_PROTOCOL_FOR_DSR_ENCAP',
  194: 'NO_EGRESS_GATEWAY', 195: 'UNENCRYPTED_TRAFFIC', 196: 'TTL_EXCEEDED', 197: 'NO_NODE_ID', 198: 'DROP_RATE_LIMITED', 199: 'IGMP_HANDLED',
  200: 'IGMP_SUBSCRIBED', 201: 'MULTICAST_HANDLED', 202: 'DROP_HOST_NOT_READY', 203: 'DROP_EP_NOT_READY', 204: 'DROP_NO_EGRESS_IP', 205: 'DROP_PUNT_PROXY',
};

/** Drop reasons that are a policy verdict: the default-deny drop, and a deny rule's. */
export const POLICY_DROP_REASONS = ['POLICY_DENIED', 'POLICY_DENY'];

export type Direction = 'ingress' | 'egress' | 'unknown';

/** One side of a flow as Hubble saw it. */
export interface FlowEndpoint {
  /** The engine's endpoint, or undefined when the flow says too little (no labels, no address). */
  endpoint: Endpoint | undefined;
  /** `shop/web` (namespace and workload), `reserved:world`, an address or a DNS name: how the drop is grouped and shown. */
  text: string;
  /** The namespace labels the flow carried (`k8s:io.cilium.k8s.namespace.labels.*`), when it did. */
  namespaceLabels?: Record<string, string>;
}

export interface DroppedFlow {
  verdict: 'DROPPED' | 'AUDIT';
  /** A DropReason name (`POLICY_DENIED`), or `DROP_REASON_<n>` for a number this table does not know, or '' when absent. */
  dropReason: string;
  direction: Direction;
  /** `event_type.type`: 1 a drop event, 5 a policy verdict (Cilium reports a policy drop as both). */
  eventType: number | undefined;
  source: FlowEndpoint;
  destination: FlowEndpoint;
  port: number | undefined;
  protocol: Protocol | 'ICMPv4' | 'ICMPv6' | 'other';
  /** Policies Cilium named (`egress_denied_by`/`ingress_denied_by`), as `Kind namespace/name`. */
  deniedBy: string[];
  policyLog: string[];
}

export type LineResult = { kind: 'drop'; flow: DroppedFlow } | { kind: 'flow' } | { kind: 'other' } | { kind: 'error'; message: string };

const RESERVED_ORDER = ['kube-apiserver', 'host', 'remote-node', 'health', 'ingress', 'init', 'unmanaged', 'world', 'world-ipv4', 'world-ipv6'];

// Labels Cilium derives for every pod; the pod's own labels are the rest of the `k8s:` ones.
const DERIVED_PREFIXES = [POD_NAMESPACE_KEY, NAMESPACE_LABELS_PREFIX, 'io.cilium.k8s.policy.', 'io.kubernetes.pod.'];

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function splitLabel(label: string): { source: string; key: string; value: string } {
  const colon = label.indexOf(':');
  const source = colon === -1 ? '' : label.slice(0, colon);
  const rest = label.slice(colon + 1);
  const eq = rest.indexOf('=');
  return eq === -1 ? { source, key: rest, value: '' } : { source, key: rest.slice(0, eq), value: rest.slice(eq + 1) };
}

// Kubernetes object names (and what a terminal can show safely): no spaces or control characters.
const PRINTABLE_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** A pod's workload name from Hubble's `workloads`, or its pod name without the ReplicaSet/pod hash. */
function workloadName(raw: Record<string, unknown>): string | undefined {
  const workloads = Array.isArray(raw.workloads) ? raw.workloads : [];
  const first = workloads.find(isRecord);
  if (first && typeof first.name === 'string' && PRINTABLE_NAME.test(first.name)) return first.name;
  if (typeof raw.pod_name === 'string' && PRINTABLE_NAME.test(raw.pod_name)) return raw.pod_name.replace(/-[a-z0-9]{8,10}-[a-z0-9]{5}$/, '').replace(/-[a-z0-9]{5}$/, '');
  return undefined;
}

function endpointOf(raw: unknown, ip: string | undefined, names: string[]): FlowEndpoint {
  const side = isRecord(raw) ? raw : {};
  const labels = stringList(side.labels);
  const namespace = typeof side.namespace === 'string' && isDnsLabel(side.namespace) ? side.namespace : undefined;
  const reserved = labels.map(splitLabel).filter((l) => l.source === 'reserved').map((l) => l.key);
  if (namespace) {
    const podLabels: Record<string, string> = {};
    const namespaceLabels: Record<string, string> = {};
    let sawNamespaceLabels = false;
    let serviceAccount: string | undefined;
    for (const label of labels.map(splitLabel)) {
      if (label.source !== 'k8s') continue;
      if (label.key === SERVICE_ACCOUNT_KEY) {
        serviceAccount = label.value;
      } else if (label.key.startsWith(NAMESPACE_LABELS_PREFIX)) {
        namespaceLabels[label.key.slice(NAMESPACE_LABELS_PREFIX.length)] = label.value;
        sawNamespaceLabels = true;
      } else if (!DERIVED_PREFIXES.some((prefix) => label.key.startsWith(prefix))) {
        podLabels[label.key] = label.value;
      }
    }
    const workload = workloadName(side);
    const endpoint: Endpoint = {
      kind: 'pod',
      namespace,
      labels: podLabels,
      ...(workload ? { name: workload } : {}),
      ...(serviceAccount ? { serviceAccount } : {}),
    };
    return { endpoint, text: workload ? `${namespace}/${workload}` : namespace, ...(sawNamespaceLabels ? { namespaceLabels } : {}) };
  }
  const entity = RESERVED_ORDER.find((name) => reserved.includes(name));
  if (entity === undefined || entity.startsWith('world')) {
    // Outside the cluster (or unknown to the flow): by address and name, as Cilium matches CIDR and FQDN rules.
    const fqdn = names.map((name) => name.replace(/\.$/, '').toLowerCase()).find((name) => isDnsSubdomain(name));
    const address = ip !== undefined && parseIp(ip) ? ip : undefined;
    if (entity === undefined && address === undefined && fqdn === undefined) return { endpoint: undefined, text: '(unknown)' };
    const endpoint: Endpoint = { kind: 'world', ...(address ? { ip: address } : {}), ...(fqdn ? { fqdn } : {}) };
    return { endpoint, text: fqdn ?? address ?? 'reserved:world' };
  }
  return { endpoint: { kind: 'reserved', entity: entity as Exclude<Endpoint & { kind: 'reserved' }, never>['entity'] }, text: `reserved:${entity}` };
}

function enumName(value: unknown, names: Record<number, string>, prefix: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return names[value] ?? `${prefix}${value}`;
  return '';
}

const VERDICTS: Record<number, string> = { 1: 'FORWARDED', 2: 'DROPPED', 3: 'ERROR', 4: 'AUDIT', 5: 'REDIRECTED', 6: 'TRACED', 7: 'TRANSLATED' };
const DIRECTIONS: Record<number, string> = { 1: 'INGRESS', 2: 'EGRESS' };

function policyNames(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter((policy): policy is Record<string, unknown> => isRecord(policy) && typeof policy.name === 'string' && PRINTABLE_NAME.test(policy.name))
    .map((policy) => {
      const kind = typeof policy.kind === 'string' && /^[A-Za-z]+$/.test(policy.kind) ? `${policy.kind} ` : '';
      const namespace = typeof policy.namespace === 'string' && isDnsLabel(policy.namespace) ? `${policy.namespace}/` : '';
      return `${kind}${namespace}${String(policy.name)}`;
    });
}

/** Reads one Flow object (the `flow` of a GetFlowsResponse, or a bare one). */
export function readFlow(flow: Record<string, unknown>): LineResult {
  const verdict = enumName(flow.verdict, VERDICTS, 'VERDICT_');
  if (verdict !== 'DROPPED' && verdict !== 'AUDIT') return { kind: 'flow' };
  const dropReason = enumName(flow.drop_reason_desc, DROP_REASONS, 'DROP_REASON_') || enumName(flow.drop_reason, DROP_REASONS, 'DROP_REASON_');
  const direction = enumName(flow.traffic_direction, DIRECTIONS, 'DIRECTION_');
  const ip = isRecord(flow.IP) ? flow.IP : {};
  const l4 = isRecord(flow.l4) ? flow.l4 : {};
  let port: number | undefined;
  let protocol: DroppedFlow['protocol'] = 'other';
  for (const name of ['TCP', 'UDP', 'SCTP'] as const) {
    const layer = l4[name];
    if (isRecord(layer)) {
      protocol = name;
      const value = layer.destination_port;
      port = typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 65535 ? value : undefined;
    }
  }
  if (isRecord(l4.ICMPv4)) protocol = 'ICMPv4';
  if (isRecord(l4.ICMPv6)) protocol = 'ICMPv6';
  const eventType = isRecord(flow.event_type) && typeof flow.event_type.type === 'number' ? flow.event_type.type : undefined;
  return {
    kind: 'drop',
    flow: {
      verdict,
      dropReason,
      direction: direction === 'INGRESS' ? 'ingress' : direction === 'EGRESS' ? 'egress' : 'unknown',
      eventType,
      source: endpointOf(flow.source, typeof ip.source === 'string' ? ip.source : undefined, stringList(flow.source_names)),
      destination: endpointOf(flow.destination, typeof ip.destination === 'string' ? ip.destination : undefined, stringList(flow.destination_names)),
      port,
      protocol,
      deniedBy: [...policyNames(flow.egress_denied_by), ...policyNames(flow.ingress_denied_by)],
      policyLog: stringList(flow.policy_log),
    },
  };
}

/** Cheap test for lines that cannot be a drop: most of a Hubble stream is forwarded traffic. */
const MAY_BE_DROP = /"verdict":\s*(?:"DROPPED"|"AUDIT"|2\b|4\b)/;

/** One line of `hubble observe -o json`: a drop, another flow, another response (lost events, node status), or not a flow. */
export function parseFlowLine(line: string): LineResult {
  if (line.trim() === '') return { kind: 'other' };
  const trimmed = line.trim();
  if (!MAY_BE_DROP.test(line) && trimmed.startsWith('{') && trimmed.endsWith('}') && /"(flow|verdict|lost_events|node_status)"/.test(line)) {
    return /"(flow|verdict)"/.test(line) ? { kind: 'flow' } : { kind: 'other' };
  }
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { kind: 'error', message: 'is not JSON' };
  }
  if (!isRecord(value)) return { kind: 'error', message: 'is not a JSON object' };
  if (isRecord(value.flow)) return readFlow(value.flow);
  if ('verdict' in value || 'source' in value || 'IP' in value) return readFlow(value);
  if ('lost_events' in value || 'node_status' in value) return { kind: 'other' };
  return { kind: 'error', message: 'is not a Hubble flow (no "flow" or "verdict")' };
}
