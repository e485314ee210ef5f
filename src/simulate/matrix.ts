// `simulate --matrix`: every source against every destination, and with `--before` only the cells
// that change. Sources are each namespace's unlabelled pod and the pods given with --pods;
// destinations are the same pods (namespaces on one representative port, --pods pods on the ports
// they declare), the internet (reserved:world on 443 and 80), the API server (443), cluster DNS
// (kube-system k8s-app=kube-dns, 53/UDP) and every SharedService on each of its ports.

import type { Catalog, SharedService } from '../catalog/types.js';
import type { PolicyEngine, Verdict } from '../engine/engine.js';
import { formatEndpoint, type Endpoint, type Identity, type Protocol } from '../engine/identity.js';
import type { LabelSelector } from '../kube/types.js';
import { formatPort, podEndpoint } from './flows.js';
import type { PodInput } from './inputs.js';

export interface MatrixSource {
  text: string;
  endpoint: Endpoint;
}

export interface MatrixTarget extends MatrixSource {
  port: number;
  protocol: Protocol;
  portText: string;
}

export interface MatrixPlan {
  sources: MatrixSource[];
  targets: MatrixTarget[];
}

const targetKey = (t: MatrixTarget): string => `${t.text}\u0000${t.portText}`;

export const KUBE_DNS: Endpoint = { kind: 'pod', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } };

const target = (endpoint: Endpoint, port: number, protocol: Protocol, text = formatEndpoint(endpoint)): MatrixTarget => ({
  text,
  endpoint,
  port,
  protocol,
  portText: formatPort(port, protocol),
});

/** A pod the selector picks: its matchLabels, and the first value of each `In` expression. */
function representativeLabels(selector: LabelSelector): Record<string, string> {
  const labels: Record<string, string> = { ...selector.matchLabels };
  for (const expression of selector.matchExpressions ?? []) {
    if (expression.operator === 'In' && expression.values?.[0] !== undefined) labels[expression.key] = expression.values[0];
  }
  return labels;
}

function serviceTargets(service: SharedService): MatrixTarget[] {
  const endpoints: Endpoint[] =
    service.target.kind === 'pods'
      ? [{ kind: 'pod', namespace: service.target.namespace, labels: representativeLabels(service.target.podSelector) }]
      : service.target.entities.filter((entity) => entity !== 'all' && entity !== 'cluster' && entity !== 'none').map((entity) =>
          entity === 'world' ? ({ kind: 'world' } as Endpoint) : ({ kind: 'reserved', entity } as Endpoint),
        );
  const targets: MatrixTarget[] = [];
  for (const endpoint of endpoints) {
    for (const port of service.ports) {
      const protocols: Protocol[] = port.protocol === 'ANY' ? ['TCP', 'UDP'] : [port.protocol];
      for (const protocol of protocols) targets.push(target(endpoint, Number(port.port), protocol));
    }
  }
  return targets;
}

export function matrixPlan(
  namespaces: readonly string[],
  catalog: Catalog,
  pods: readonly PodInput[],
  namespacePort: { port: number; protocol: Protocol },
): MatrixPlan {
  const sorted = [...namespaces].sort();
  const sources: MatrixSource[] = sorted.map((name) => ({ text: name, endpoint: { kind: 'pod', namespace: name, labels: {} } }));
  const targets: MatrixTarget[] = sorted.map((name) => target({ kind: 'pod', namespace: name, labels: {} }, namespacePort.port, namespacePort.protocol, name));
  for (const pod of pods) {
    const endpoint = podEndpoint(pod);
    const text = `${pod.namespace}/${pod.name}`;
    sources.push({ text, endpoint });
    if (pod.ports.length === 0) targets.push(target(endpoint, namespacePort.port, namespacePort.protocol, text));
    for (const port of pod.ports) targets.push(target(endpoint, port.port, port.protocol, text));
  }
  targets.push(
    target({ kind: 'world' }, 443, 'TCP'),
    target({ kind: 'world' }, 80, 'TCP'),
    target({ kind: 'reserved', entity: 'kube-apiserver' }, 443, 'TCP'),
    target(KUBE_DNS, 53, 'UDP'),
  );
  for (const service of catalog.services.values()) targets.push(...serviceTargets(service));
  // One column per endpoint and port (the API server is both a column and the kube-api service).
  const seen = new Set<string>();
  return { sources, targets: targets.filter((t) => !seen.has(targetKey(t)) && seen.add(targetKey(t)) !== undefined) };
}

export const VERDICTS: readonly Verdict[] = ['denied', 'allowed', 'unknown'];
const CODE: Record<Verdict, number> = { denied: 0, allowed: 1, unknown: 2 };

/** Verdict codes (index into VERDICTS), row by row: `cells[s * targets + t]`. */
export function runMatrix(engine: PolicyEngine, plan: MatrixPlan): Uint8Array {
  const sources: Identity[] = plan.sources.map((source) => engine.identity(source.endpoint));
  const targets: Identity[] = plan.targets.map((t) => engine.identity(t.endpoint));
  const cells = new Uint8Array(sources.length * targets.length);
  for (let s = 0; s < sources.length; s++) {
    const from = sources[s]!;
    const row = s * targets.length;
    for (let t = 0; t < targets.length; t++) {
      const to = plan.targets[t]!;
      cells[row + t] = CODE[engine.verdictOf(from, targets[t]!, to.port, to.protocol)];
    }
  }
  return cells;
}

export interface MatrixChange {
  from: string;
  to: string;
  port: string;
  /** `absent` when the endpoint does not exist on that side (a namespace added or removed). */
  before: Verdict | 'absent';
  after: Verdict | 'absent';
  /** Where to find the cell again in the after plan (for reasons), when it exists there. */
  afterIndex?: { source: number; target: number };
}

/** The cells whose verdict differs between two matrices, in the after plan's order, then removed ones. */
export function diffMatrices(before: MatrixPlan, beforeCells: Uint8Array, after: MatrixPlan, afterCells: Uint8Array): MatrixChange[] {
  const beforeSource = new Map(before.sources.map((s, i) => [s.text, i]));
  const beforeTarget = new Map(before.targets.map((t, i) => [targetKey(t), i]));
  const afterSource = new Map(after.sources.map((s, i) => [s.text, i]));
  const afterTarget = new Map(after.targets.map((t, i) => [targetKey(t), i]));
  const changes: MatrixChange[] = [];
  for (let s = 0; s < after.sources.length; s++) {
    const bs = beforeSource.get(after.sources[s]!.text);
    for (let t = 0; t < after.targets.length; t++) {
      const target = after.targets[t]!;
      const bt = beforeTarget.get(targetKey(target));
      const now = VERDICTS[afterCells[s * after.targets.length + t]!]!;
      const was = bs === undefined || bt === undefined ? 'absent' : VERDICTS[beforeCells[bs * before.targets.length + bt]!]!;
      if (was !== now) changes.push({ from: after.sources[s]!.text, to: target.text, port: target.portText, before: was, after: now, afterIndex: { source: s, target: t } });
    }
  }
  // Cells of endpoints that are gone.
  for (let s = 0; s < before.sources.length; s++) {
    const as = afterSource.get(before.sources[s]!.text);
    for (let t = 0; t < before.targets.length; t++) {
      const target = before.targets[t]!;
      if (as !== undefined && afterTarget.has(targetKey(target))) continue;
      changes.push({ from: before.sources[s]!.text, to: target.text, port: target.portText, before: VERDICTS[beforeCells[s * before.targets.length + t]!]!, after: 'absent' });
    }
  }
  return changes;
}
