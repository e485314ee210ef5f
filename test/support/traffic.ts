// Traffic checks for the connectivity invariants: a probe set of endpoints and ports, and every
// "side cell" of a set of subjects (their own egress verdict towards each peer and port, and their
// own ingress verdict from each), so two worlds can be compared cell by cell.

import type { ObservedPolicy, KubeObject } from '../../src/kube/types.js';
import { makeRenderConfig, type RenderConfig } from '../../src/config.js';
import type { Catalog } from '../../src/catalog/types.js';
import { PolicyEngine } from '../../src/engine/engine.js';
import { formatEndpoint, type Endpoint, type NamespaceLabels, type Protocol } from '../../src/engine/identity.js';
import { buildScenario } from '../../src/simulate/scenario.js';

export { seededRandom } from './apiserver/faults.js';

export const D = 'network-policy.homelab';
export const PROFILE = `${D}/profile`;
export const ENFORCEMENT = `${D}/enforcement`;
export const PLATFORM = `${D}/platform`;
export const access = (service: string): string => `access.${D}/${service}`;

export const PROBE_PORTS: ReadonlyArray<readonly [number, Protocol]> = [
  [53, 'UDP'],
  [53, 'TCP'],
  [80, 'TCP'],
  [443, 'TCP'],
  [3900, 'TCP'],
  [5432, 'TCP'],
  [6379, 'TCP'],
  [6443, 'TCP'],
  [8080, 'TCP'],
  [9090, 'TCP'],
  [15008, 'TCP'],
];

export const pod = (namespace: string, labels: Record<string, string> = {}): Endpoint => ({ kind: 'pod', namespace, labels });

/** The platform's own workloads, as the default catalog names them. */
export const PLATFORM_PODS: readonly Endpoint[] = [
  pod('database', { app: 'postgres' }),
  pod('cache', { app: 'dragonfly' }),
  pod('garage', { app: 'garage' }),
  pod('kube-system', { 'k8s-app': 'kube-dns' }),
  pod('monitoring', { 'app.kubernetes.io/name': 'prometheus' }),
  pod('istio-gateway', { 'gateway.networking.k8s.io/gateway-name': 'external' }),
  pod('istio-gateway', { 'gateway.networking.k8s.io/gateway-name': 'internal' }),
  pod('istio-system', { app: 'ztunnel' }),
];

export const OUTSIDE: readonly Endpoint[] = [
  { kind: 'world', ip: '198.51.100.7' },
  { kind: 'world', ip: '192.0.2.66' },
  { kind: 'world', ip: '169.254.7.127' },
  { kind: 'world', ip: '169.254.1.1' },
  { kind: 'reserved', entity: 'host' },
  { kind: 'reserved', entity: 'remote-node' },
  { kind: 'reserved', entity: 'kube-apiserver' },
  { kind: 'reserved', entity: 'health' },
];

/** Every pod the checks look at in these namespaces: one without labels each, and the platform's. */
export function podsOf(namespaces: readonly string[]): Endpoint[] {
  const names = new Set(namespaces);
  return [...namespaces.map((name) => pod(name)), ...PLATFORM_PODS.filter((p) => p.kind === 'pod' && names.has(p.namespace))];
}

export function peersOf(namespaces: readonly string[]): Endpoint[] {
  return [...podsOf(namespaces), ...OUTSIDE];
}

/** Each subject's own verdicts towards each peer and port, both directions, in a fixed order. */
export interface Cells {
  subjects: readonly Endpoint[];
  peers: readonly Endpoint[];
  /** `allowed`, `denied`, `unknown`, or `allowed then L7 dns` and the like. */
  verdicts: string[];
}

const DIRECTIONS = ['egress', 'ingress'] as const;

/** Each subject's own verdict on every peer and port, both directions. */
export function sideCells(engine: PolicyEngine, subjects: readonly Endpoint[], peers: readonly Endpoint[]): Cells {
  const verdicts: string[] = [];
  for (const subject of subjects) {
    const self = engine.identity(subject);
    for (const peer of peers) {
      const other = engine.identity(peer);
      for (const [port, protocol] of PROBE_PORTS) {
        for (const direction of DIRECTIONS) {
          if (self.key === other.key) {
            verdicts.push('allowed');
            continue;
          }
          // The verdict and the L7 rules the proxy applies: sending a flow through the DNS proxy
          // is a change too.
          const side = engine.sideResult(self, other, direction, port, protocol);
          verdicts.push(side.l7 ? `${side.verdict} then L7 ${side.l7.join(',')}` : side.verdict);
        }
      }
    }
  }
  return { subjects, peers, verdicts };
}

export interface CellChange {
  cell: string;
  before: string | undefined;
  after: string | undefined;
}

/** The cells that differ between two runs over the same subjects and peers, named. */
export function changedCells(before: Cells, after: Cells): CellChange[] {
  if (before.subjects.length !== after.subjects.length || before.peers.length !== after.peers.length) throw new Error('cells of different probes');
  const changes: CellChange[] = [];
  const perPeer = PROBE_PORTS.length * DIRECTIONS.length;
  const perSubject = after.peers.length * perPeer;
  for (let i = 0; i < after.verdicts.length; i++) {
    if (before.verdicts[i] === after.verdicts[i]) continue;
    const subject = after.subjects[Math.floor(i / perSubject)]!;
    const peer = after.peers[Math.floor((i % perSubject) / perPeer)]!;
    const [port, protocol] = PROBE_PORTS[Math.floor((i % perPeer) / DIRECTIONS.length)]!;
    const direction = DIRECTIONS[i % DIRECTIONS.length]!;
    const cell = `${formatEndpoint(subject)} ${direction} ${direction === 'egress' ? 'to' : 'from'} ${formatEndpoint(peer)} ${port}/${protocol}`;
    changes.push({ cell, before: before.verdicts[i], after: after.verdicts[i] });
  }
  return changes;
}

export interface World {
  catalog: Catalog;
  namespaces: NamespaceLabels[];
  /** Policies that exist besides ours. */
  foreign: KubeObject[];
  config?: RenderConfig;
  /** What the cluster holds of ours, when it matters (kept objects). */
  observedOwned?: ObservedPolicy[];
}

/** The engine for a world with our objects as the operator converges them. */
export function withOurs(world: World): PolicyEngine {
  return buildScenario({
    catalog: world.catalog,
    namespaces: world.namespaces,
    config: world.config ?? makeRenderConfig(),
    otherPolicies: world.foreign,
    observedOwned: world.observedOwned ?? [],
  }).engine;
}

/** The same world without any object of ours. */
export function withoutOurs(world: World): PolicyEngine {
  return new PolicyEngine({ namespaces: world.namespaces, policies: world.foreign });
}
