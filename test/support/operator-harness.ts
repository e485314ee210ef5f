// Runs the real operator in-process against the test API server over HTTP, and compares the
// server's state with what the pure renderer says should exist.

import type { ObservedPolicy } from '../../src/kube/types.js';
import { expect } from 'chai';
import { makeRenderConfig, MANAGED_BY_LABEL, MANAGED_BY_VALUE, type RenderConfig } from '../../src/config.js';
import { buildCatalog } from '../../src/catalog/load.js';
import { HttpKubeApi } from '../../src/kube/http-api.js';
import { silentLogger } from '../../src/observability/logger.js';
import { OperatorMetrics } from '../../src/observability/metrics.js';
import { Operator, type OperatorOptions } from '../../src/operator.js';
import { canonicalize } from '../../src/render/canonical.js';
import { renderAll } from '../../src/render/render.js';
import { convergedOwnedPolicies, namespacesWithOwnedProfile } from '../../src/reconcile/diff.js';
import { TestApiServer } from './apiserver/server.js';
import type { KubeObject as ServerObject } from './apiserver/types.js';
import { DEFAULT_CATALOG_DIR } from './project.js';
import { readdirSync } from 'node:fs';
import path from 'node:path';

export const D = 'network-policy.homelab';

export interface RunningOperator {
  operator: Operator;
  metrics: OperatorMetrics;
  stop(): Promise<void>;
}

export async function startServerWithCatalog(options: Parameters<typeof TestApiServer.start>[0] = {}): Promise<TestApiServer> {
  const server = await TestApiServer.start({ bookmarkIntervalMs: 200, ...options });
  server.applyManifests(
    readdirSync(DEFAULT_CATALOG_DIR)
      .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
      .map((f) => path.join(DEFAULT_CATALOG_DIR, f)),
  );
  server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'netpol-profiles' } });
  return server;
}

export async function startOperator(
  server: TestApiServer,
  overrides: Partial<OperatorOptions> & { identity?: string; token?: string } = {},
): Promise<RunningOperator> {
  const metrics = new OperatorMetrics('test');
  const api = new HttpKubeApi(server.kubeConfig(overrides.token), { onWrite: (verb, kind) => metrics.countWrite(verb, kind) });
  const operator = new Operator({
    api,
    operatorNamespace: 'netpol-profiles',
    config: makeRenderConfig(),
    logger: silentLogger(),
    metrics,
    concurrency: 4,
    dryRun: false,
    statusDelayMs: 50,
    cache: { stallTimeoutMs: 30_000, backoffBaseMs: 20, backoffCapMs: 500 },
    leaderElection: {
      enabled: false,
      namespace: 'netpol-profiles',
      name: 'netpol-profiles',
      identity: overrides.identity ?? 'test-operator',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    },
    ...overrides,
  });
  await operator.start();
  return { operator, metrics, stop: () => operator.stop(2_000) };
}

export function namespace(name: string, labels: Record<string, string> = {}): ServerObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

/** Generated objects on the server, as `kind/namespace/name` → canonical spec. */
export function ownedObjects(server: TestApiServer): Map<string, unknown> {
  const selector = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;
  const out = new Map<string, unknown>();
  for (const [plural, kind] of [
    ['ciliumnetworkpolicies', 'CiliumNetworkPolicy'],
    ['ciliumclusterwidenetworkpolicies', 'CiliumClusterwideNetworkPolicy'],
  ] as const) {
    for (const object of server.list('cilium.io/v2', plural, undefined, { labelSelector: selector })) {
      out.set(`${kind}/${object.metadata?.namespace ?? ''}/${object.metadata?.name}`, canonicalize(object.spec));
    }
  }
  return out;
}

/**
 * What the operator converges to for the server's current namespaces and catalog: what the renderer
 * says should exist (minus names held by someone else), plus the generated objects it keeps (a
 * profile after a typo, what an invalid catalog object generated).
 */
export function expectedObjects(server: TestApiServer, config: RenderConfig = makeRenderConfig()): Map<string, unknown> {
  const catalogObjects = ['networkprofiles', 'sharedservices', 'networkbaselines'].flatMap((plural) =>
    server.list(`${D}/v1alpha1`, plural).map((object) => ({ source: 'server', object })),
  );
  const { catalog } = buildCatalog(catalogObjects);
  const live = server.list('v1', 'namespaces').filter((ns) => !ns.metadata?.deletionTimestamp);
  const liveNames = new Set(live.map((ns) => ns.metadata!.name!));
  const namespaces = live.map((ns) => ({ name: ns.metadata!.name!, labels: (ns.metadata?.labels ?? {}) as Record<string, string> }));
  const observed = [
    ...server.list('cilium.io/v2', 'ciliumnetworkpolicies').filter((policy) => liveNames.has(policy.metadata?.namespace ?? '')),
    ...server.list('cilium.io/v2', 'ciliumclusterwidenetworkpolicies'),
  ] as unknown as ObservedPolicy[];
  const withProfilePolicy = namespacesWithOwnedProfile(observed, config.keys);
  // access-<S>-ingress is created only in a home namespace that exists.
  const rendered = renderAll(namespaces, catalog, config, { hasProfilePolicy: (namespace) => withProfilePolicy.has(namespace), isWritable: (namespace) => liveNames.has(namespace) });
  const desired = rendered.objects;
  const out = new Map<string, unknown>();
  for (const object of convergedOwnedPolicies(desired, observed, rendered.retain, config.keys)) {
    out.set(`${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`, canonicalize(object.spec));
  }
  return out;
}

export async function eventually(check: () => unknown, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what} not reached within ${timeoutMs} ms: ${last instanceof Error ? last.message : String(last)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Waits until the server holds exactly the rendered objects, no more (no orphans), no fewer. */
export async function expectConverged(server: TestApiServer, timeoutMs = 10_000): Promise<void> {
  await eventually(() => {
    const actual = ownedObjects(server);
    const expected = expectedObjects(server);
    expect([...actual.keys()].sort()).to.deep.equal([...expected.keys()].sort());
    for (const [key, spec] of expected) expect(actual.get(key), key).to.deep.equal(spec);
  }, timeoutMs, 'convergence');
}

export function eventsFor(server: TestApiServer, namespaceName: string): Array<{ reason: string; type: string; note: string }> {
  return server
    .list('events.k8s.io/v1', 'events', namespaceName)
    .map((event) => ({ reason: String(event.reason), type: String(event.type), note: String(event.note) }));
}
