// The flows `simulate` answers: endpoints and ports as users write them on the command line and
// in `--flows` files, parsed into the engine's terms with one clear problem for anything else.
//
// Endpoints: `NS` (a pod without labels in NS), `NS/k=v,k2=v2` (a pod with those labels),
// `NS/NAME` (a Pod or workload named NAME in NS, from --pods), `reserved:ENTITY`, an IP address
// (outside the cluster), or a DNS name such as `api.github.com` (outside the cluster, by name).
// Ports: `443`, `53/UDP`, or a port name the destination pod declares (`http`).

import { parseDocument } from 'yaml';
import { parseIp } from '../engine/cidr.js';
import type { Flow, Verdict } from '../engine/engine.js';
import { PROTOCOLS, RESERVED_ENTITIES, type Endpoint, type Protocol } from '../engine/identity.js';
import { isDnsLabel, isDnsSubdomain, isLabelKey, isLabelValue, quoteValue } from '../kube/names.js';
import { isRecord } from '../kube/types.js';
import type { PodInput } from './inputs.js';

export type Expectation = Extract<Verdict, 'allowed' | 'denied'>;

/** A flow as asked: what the user wrote, parsed. */
export interface AskedFlow extends Flow {
  /** The endpoints and port as written, for output. */
  fromText: string;
  toText: string;
  portText: string;
  expect?: Expectation;
}

export class FlowError extends Error {}

export function podEndpoint(pod: PodInput): Endpoint {
  return {
    kind: 'pod',
    namespace: pod.namespace,
    labels: pod.labels,
    name: pod.name,
    ports: pod.ports,
    ...(pod.serviceAccount ? { serviceAccount: pod.serviceAccount } : {}),
  };
}

export function parseEndpoint(text: string, pods: readonly PodInput[]): Endpoint {
  if (text.startsWith('reserved:')) {
    const entity = text.slice('reserved:'.length);
    if (entity === 'world') return { kind: 'world' };
    if (!(RESERVED_ENTITIES as readonly string[]).includes(entity)) {
      throw new FlowError(`${quoteValue(text)}: unknown reserved identity; one of ${RESERVED_ENTITIES.map((e) => `reserved:${e}`).join(', ')}`);
    }
    return { kind: 'reserved', entity: entity as Exclude<(typeof RESERVED_ENTITIES)[number], 'world'> };
  }
  if (parseIp(text)) return { kind: 'world', ip: text };
  const slash = text.indexOf('/');
  const namespace = slash === -1 ? text : text.slice(0, slash);
  if (isDnsLabel(namespace)) {
    if (slash === -1) return { kind: 'pod', namespace, labels: {} };
    const rest = text.slice(slash + 1);
    if (rest.includes('=')) return { kind: 'pod', namespace, labels: parseLabels(rest, text) };
    const pod = pods.find((candidate) => candidate.namespace === namespace && candidate.name === rest);
    if (!pod) {
      throw new FlowError(`${quoteValue(text)}: no Pod or workload ${quoteValue(rest)} in namespace ${namespace} among --pods (or write labels: ${namespace}/app=NAME)`);
    }
    return podEndpoint(pod);
  }
  if (slash === -1 && text.includes('.') && isDnsSubdomain(text.toLowerCase().replace(/\.$/, ''))) return { kind: 'world', fqdn: text };
  throw new FlowError(
    `${quoteValue(text)} is not an endpoint: write NS, NS/key=value,..., NS/POD (from --pods), reserved:ENTITY, an IP address or a DNS name`,
  );
}

function parseLabels(text: string, whole: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    const value = eq === -1 ? '' : pair.slice(eq + 1);
    if (eq === -1 || !isLabelKey(key) || !isLabelValue(value)) {
      throw new FlowError(`${quoteValue(whole)}: ${quoteValue(pair)} is not a label (key=value)`);
    }
    labels[key] = value;
  }
  return labels;
}

/** `443`, `53/UDP`, `http`: the port, resolved against the destination's declared ports when named. */
export function parsePort(text: string, destination: Endpoint): { port: number | undefined; protocol: Protocol } {
  const [portPart, protoPart, extra] = text.split('/');
  if (extra !== undefined || portPart === undefined || portPart === '') throw new FlowError(`${quoteValue(text)} is not a port: write PORT or PORT/PROTOCOL (443, 53/UDP)`);
  let protocol: Protocol | undefined;
  if (protoPart !== undefined) {
    const upper = protoPart.toUpperCase() as Protocol;
    if (!PROTOCOLS.includes(upper)) throw new FlowError(`${quoteValue(text)}: protocol must be ${PROTOCOLS.join(', ')}`);
    protocol = upper;
  }
  if (/^[0-9]+$/.test(portPart)) {
    const port = Number(portPart);
    if (port < 1 || port > 65535) throw new FlowError(`${quoteValue(text)}: port must be 1-65535`);
    return { port, protocol: protocol ?? 'TCP' };
  }
  const declared = destination.kind === 'pod' ? destination.ports : undefined;
  const named = declared?.filter((p) => p.name === portPart && (protocol === undefined || p.protocol === protocol));
  if (!named || named.length === 0) {
    throw new FlowError(`${quoteValue(text)}: a named port needs a destination pod from --pods that declares it`);
  }
  return { port: named[0]!.port, protocol: named[0]!.protocol };
}

/** One flow from its parts; the port may be omitted (every port of TCP). */
export function parseFlow(from: string, to: string, port: string | undefined, pods: readonly PodInput[]): AskedFlow {
  const fromEndpoint = parseEndpoint(from, pods);
  const toEndpoint = parseEndpoint(to, pods);
  const parsed = port === undefined ? { port: undefined, protocol: 'TCP' as Protocol } : parsePort(port, toEndpoint);
  return {
    from: fromEndpoint,
    to: toEndpoint,
    port: parsed.port,
    protocol: parsed.protocol,
    fromText: from,
    toText: to,
    portText: formatPort(parsed.port, parsed.protocol),
  };
}

export function formatPort(port: number | undefined, protocol: Protocol): string {
  return port === undefined ? `any/${protocol}` : `${port}/${protocol}`;
}

/**
 * A `--flows` file: `flows: [{from, to, port, protocol?, expect?}]` (or the list alone). Every
 * problem names the file and the flow; the first one stops the run (exit 2).
 */
export function parseFlowsFile(text: string, source: string, pods: readonly PodInput[]): AskedFlow[] {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const error = doc.errors[0]!;
    const where = error.linePos?.[0] ? ` at line ${error.linePos[0].line}, column ${error.linePos[0].col}` : '';
    throw new FlowError(`${source}: YAML syntax error${where}: ${error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  const value = doc.toJS() as unknown;
  const list = Array.isArray(value) ? value : isRecord(value) ? value.flows : undefined;
  if (!Array.isArray(list) || list.length === 0) throw new FlowError(`${source}: expected "flows:" with a list of {from, to, port, expect}`);
  return list.map((entry, index) => {
    const at = `${source}: flows[${index}]`;
    if (!isRecord(entry)) throw new FlowError(`${at}: must be a mapping with from, to, port and optionally expect`);
    for (const key of Object.keys(entry)) {
      if (!['from', 'to', 'port', 'protocol', 'expect', 'name'].includes(key)) throw new FlowError(`${at}: unknown field ${quoteValue(key)} (from, to, port, protocol, expect, name)`);
    }
    if (typeof entry.from !== 'string' || typeof entry.to !== 'string') throw new FlowError(`${at}: from and to are required strings`);
    let port: string | undefined;
    if (entry.port !== undefined) port = String(entry.port);
    if (entry.protocol !== undefined) {
      if (port === undefined || port.includes('/')) throw new FlowError(`${at}: protocol needs a port without one (port: 53, protocol: UDP)`);
      port = `${port}/${String(entry.protocol)}`;
    }
    let flow: AskedFlow;
    try {
      flow = parseFlow(entry.from, entry.to, port, pods);
    } catch (error) {
      if (error instanceof FlowError) throw new FlowError(`${at}: ${error.message}`);
      throw error;
    }
    if (entry.expect !== undefined) {
      if (entry.expect !== 'allowed' && entry.expect !== 'denied') throw new FlowError(`${at}: expect must be allowed or denied, not ${quoteValue(String(entry.expect))}`);
      flow.expect = entry.expect;
    }
    return flow;
  });
}
