// The traffic promise (SPEC section 1), proven with flows through the policy engine on what the
// renderer produces: a namespace whose labels ask for nothing valid keeps exactly its traffic; an
// access label only adds the service's ports; manageIngress only adds the granted namespaces; a
// valid profile gives exactly its rules, the baselines and the granted services; the escape hatch
// opens all L3/L4 traffic except what a deny rule or the peer refuses; a kept profile keeps
// exactly what it had. Each is checked on a fixed world and on generated label sets.

import type { ObservedPolicy, KubeObject } from '../../src/kube/types.js';
import { expect } from 'chai';
import { makeRenderConfig } from '../../src/config.js';
import type { Catalog, SharedService } from '../../src/catalog/types.js';
import { PolicyEngine } from '../../src/engine/engine.js';
import { endpointKey, formatEndpoint, type Endpoint, type NamespaceLabels } from '../../src/engine/identity.js';
import { isOwned } from '../../src/reconcile/diff.js';
import { buildScenario } from '../../src/simulate/scenario.js';
import { readDocuments } from '../../src/catalog/load.js';
import { defaultCatalog, EXAMPLE_NAMESPACES, kustomizeCatalog, projectPath } from '../support/project.js';
import { access, changedCells, ENFORCEMENT, peersOf, PLATFORM, pod, podsOf, PROBE_PORTS, PROFILE, seededRandom, sideCells, withoutOurs, withOurs, type CellChange, type World } from '../support/traffic.js';

const config = makeRenderConfig();

/** The default catalog with postgres also managing its pods' ingress. */
function withManagedPostgres(catalog: Catalog): Catalog {
  const services = new Map(catalog.services);
  services.set('postgres', { ...catalog.services.get('postgres')!, manageIngress: true });
  return { ...catalog, services };
}

// Policies the platform keeps for itself, which our objects must never change the meaning of.
const FOREIGN: KubeObject[] = [
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'postgres-own', namespace: 'database' },
    spec: {
      podSelector: { matchLabels: { app: 'postgres' } },
      ingress: [
        { from: [{ podSelector: { matchLabels: { app: 'postgres' } } }] },
        { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], ports: [{ port: 9090 }] },
      ],
    },
  },
  {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name: 'prometheus', namespace: 'monitoring' },
    spec: {
      endpointSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
      egress: [{ toEndpoints: [{ matchExpressions: [{ key: 'k8s:io.kubernetes.pod.namespace', operator: 'Exists' }] }] }, { toEntities: ['kube-apiserver', 'world'] }],
    },
  },
  {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name: 'locked', namespace: 'vault' },
    spec: {
      endpointSelector: {},
      ingress: [{ fromEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'istio-gateway' } }] }],
      egress: [{ toEntities: ['kube-apiserver'] }],
    },
  },
  {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumClusterwideNetworkPolicy',
    metadata: { name: 'block-bad-ip' },
    spec: { endpointSelector: {}, enableDefaultDeny: { egress: false, ingress: false }, egressDeny: [{ toCIDR: ['192.0.2.66/32'] }] },
  },
];

const NAMESPACES: NamespaceLabels[] = [
  { name: 'shop', labels: { [PROFILE]: 'standard', [access('postgres')]: 'true', [access('dragonfly')]: 'true' } },
  { name: 'grafana', labels: { [PROFILE]: 'internal', [access('postgres')]: 'true' } },
  { name: 'billing', labels: { [PROFILE]: 'internal-egress', [access('garage-s3')]: 'true', [access('kube-api')]: 'true' } },
  { name: 'reports', labels: { [PROFILE]: 'isolated' } },
  { name: 'mesh-app', labels: { [PROFILE]: 'standard', 'istio.io/dataplane-mode': 'ambient' } },
  { name: 'legacy', labels: { [PROFILE]: 'standard', [ENFORCEMENT]: 'disabled' } },
  { name: 'only-access', labels: { [access('postgres')]: 'true' } },
  // Ask for nothing valid:
  { name: 'blog', labels: { [PROFILE]: 'standrad' } },
  { name: 'weird', labels: { [PROFILE]: 'Not_A_Profile', [ENFORCEMENT]: 'off' } },
  { name: 'tools', labels: { [access('postgres')]: 'yes', [access('nosuch')]: 'true', [access('dragonfly')]: 'false' } },
  { name: 'plain', labels: {} },
  { name: 'vault', labels: {} },
  { name: 'ambient-plain', labels: { 'istio.io/dataplane-mode': 'ambient' } },
  { name: 'monitoring', labels: { [PLATFORM]: 'true', [PROFILE]: 'standard', [access('postgres')]: 'true' } },
  { name: 'kube-system', labels: { [PROFILE]: 'standard' } },
  { name: 'netpol-profiles', labels: { [access('kube-api')]: 'true' } },
  { name: 'database', labels: {} },
  { name: 'cache', labels: {} },
  { name: 'garage', labels: {} },
  { name: 'istio-gateway', labels: {} },
  { name: 'istio-system', labels: {} },
];

const ASKED_NOTHING = ['blog', 'weird', 'tools', 'plain', 'vault', 'ambient-plain', 'monitoring', 'kube-system', 'netpol-profiles', 'database', 'cache', 'garage', 'istio-gateway', 'istio-system'];

const namesOf = (namespaces: readonly NamespaceLabels[]) => namespaces.map((ns) => ns.name);

/** The pods of a service, as the matrix and these checks stand for them, and its ports. */
function serviceTargets(service: SharedService): { endpoints: Endpoint[]; ports: Set<string> } {
  const endpoints: Endpoint[] =
    service.target.kind === 'pods'
      ? [pod(service.target.namespace, { ...service.target.podSelector.matchLabels })]
      : service.target.entities.map((entity) => ({ kind: 'reserved', entity }) as Endpoint);
  return { endpoints, ports: new Set(service.ports.map((p) => `${p.port}/${p.protocol}`)) };
}

/** A change that a grant explains: N's egress to the service, or the service pods' ingress from N (manageIngress), newly allowed. */
function explainedByGrant(change: CellChange, granted: readonly string[], catalog: Catalog, service?: string): boolean {
  if (change.before !== 'denied' || change.after !== 'allowed') return false;
  const services = service ? [catalog.services.get(service)!] : [...catalog.services.values()];
  return services.some((s) => {
    const { endpoints, ports } = serviceTargets(s);
    return granted.some((namespace) =>
      endpoints.some((target) =>
        [...ports].some((port) => {
          const egress = new RegExp(`^${escape(namespace)}(/\\S*)? egress to ${escape(formatEndpoint(target))} ${escape(port)}$`);
          const ingress = new RegExp(`^${escape(formatEndpoint(target))} ingress from ${escape(namespace)}(/\\S*)? ${escape(port)}$`);
          return egress.test(change.cell) || (s.manageIngress && ingress.test(change.cell));
        }),
      ),
    );
  });
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function grantedNamespaces(world: World): string[] {
  const keys = config.keys;
  return world.namespaces
    .filter((ns) => Object.entries(ns.labels).some(([key, value]) => key.startsWith(keys.accessPrefix) && value === 'true'))
    .map((ns) => ns.name);
}

const changeText = (change: CellChange): string => `${change.cell}: ${change.before} → ${change.after}`;

function expectNoChange(changes: CellChange[], what: string): void {
  expect(changes.slice(0, 5), `${what}: ${changes.length} cells changed`).to.deep.equal([]);
}

function setLabels(world: World, name: string, labels: Record<string, string>): World {
  return { ...world, namespaces: world.namespaces.map((ns) => (ns.name === name ? { name, labels } : ns)) };
}

/** Namespaces of `world` whose labels ask for nothing valid (checked with the same rules as the operator). */
function askedNothing(world: World): string[] {
  const scenario = buildScenario({ catalog: world.catalog, namespaces: world.namespaces, config, otherPolicies: world.foreign, observedOwned: world.observedOwned ?? [] });
  return scenario.rendered.namespaces
    .filter((intent) => intent.protected ? !intent.enforcementDisabled : intent.profile.state !== 'valid' && intent.access.length === 0 && !intent.enforcementDisabled)
    .map((intent) => intent.namespace);
}

// ---------------------------------------------------------------------------------------------

function checkAskedNothing(world: World, names = askedNothing(world)): void {
  const subjects = podsOf(names);
  const peers = peersOf(namesOf(world.namespaces));
  const changes = changedCells(sideCells(withoutOurs(world), subjects, peers), sideCells(withOurs(world), subjects, peers));
  // A SharedService that manages ingress adds its grants to its own pods; nothing else may change.
  expectNoChange(changes.filter((change) => !explainedByGrant(change, grantedNamespaces(world), world.catalog)), `namespaces that asked for nothing (${names.join(', ')})`);
}

function checkAccessOnlyAdds(world: World, namespace: string, service: string): void {
  const current = world.namespaces.find((ns) => ns.name === namespace)!;
  const granted = setLabels(world, namespace, { ...current.labels, [access(service)]: 'true' });
  const subjects = podsOf(namesOf(world.namespaces));
  const peers = peersOf(namesOf(world.namespaces));
  const changes = changedCells(sideCells(withOurs(world), subjects, peers), sideCells(withOurs(granted), subjects, peers));
  // Someone else's policy may select on our label too (a database team admitting namespaces that
  // carry its access label): what it does with the label is its own, and happens without us too.
  const theirs = new Set(changedCells(sideCells(withoutOurs(world), subjects, peers), sideCells(withoutOurs(granted), subjects, peers)).map(changeText));
  expectNoChange(
    changes.filter((change) => !theirs.has(changeText(change)) && !explainedByGrant(change, [namespace], world.catalog, service)),
    `${namespace} + ${access(service)}: only the service may become reachable`,
  );
  const engine = withOurs(granted);
  const scenarioIntent = buildScenario({ catalog: granted.catalog, namespaces: granted.namespaces, config, otherPolicies: granted.foreign }).rendered.namespaces.find(
    (intent) => intent.namespace === namespace,
  )!;
  if (scenarioIntent.protected) return;
  const { endpoints, ports } = serviceTargets(world.catalog.services.get(service)!);
  for (const target of endpoints) {
    for (const port of ports) {
      const [number, protocol] = port.split('/') as [string, 'TCP'];
      expect(
        engine.sideVerdict(engine.identity(pod(namespace)), engine.identity(target), 'egress', Number(number), protocol),
        `${namespace} egress to ${formatEndpoint(target)} ${port} after the grant`,
      ).to.equal('allowed');
    }
  }
}

function checkEscapeHatch(world: World, namespace: string): void {
  const engine = withOurs(world);
  const self = pod(namespace);
  const blocksBadIp = world.foreign.some((policy) => policy.metadata?.name === 'block-bad-ip');
  for (const peer of peersOf(namesOf(world.namespaces))) {
    if (endpointKey(peer) === endpointKey(self)) continue;
    for (const [port, protocol] of PROBE_PORTS) {
      const deniedByRule = blocksBadIp && peer.kind === 'world' && peer.ip === '192.0.2.66';
      const egress = engine.sideVerdict(engine.identity(self), engine.identity(peer), 'egress', port, protocol);
      expect(egress, `${namespace} egress to ${formatEndpoint(peer)} ${port}/${protocol}`).to.equal(deniedByRule ? 'denied' : 'allowed');
      expect(engine.sideVerdict(engine.identity(self), engine.identity(peer), 'ingress', port, protocol), `${namespace} ingress from ${formatEndpoint(peer)}`).to.equal('allowed');
      if (peer.kind === 'pod' && !deniedByRule) {
        // The flow then depends on the peer's own ingress alone.
        const flow = engine.verdictOf(engine.identity(self), engine.identity(peer), port, protocol);
        expect(flow, `${namespace} → ${formatEndpoint(peer)} ${port}`).to.equal(engine.sideVerdict(engine.identity(peer), engine.identity(self), 'ingress', port, protocol));
      }
    }
  }
}

/** The generated objects a world converges to, as the cluster would hold them. */
function convergedOwned(world: World): ObservedPolicy[] {
  const { policies } = buildScenario({ catalog: world.catalog, namespaces: world.namespaces, config, otherPolicies: world.foreign, observedOwned: world.observedOwned ?? [] });
  return policies.filter((policy) => isOwned(policy)) as ObservedPolicy[];
}

function checkKeptProfile(world: World, namespace: string, change: (world: World) => World): void {
  const before = { ...world, observedOwned: convergedOwned(world) };
  const after = { ...change(before), observedOwned: before.observedOwned };
  const subjects = podsOf(namesOf(world.namespaces));
  const peers = peersOf(namesOf(world.namespaces));
  const changes = changedCells(sideCells(withOurs(before), subjects, peers), sideCells(withOurs(after), subjects, peers));
  expectNoChange(changes, `${namespace}: a kept profile keeps exactly what it had`);
}

// ---------------------------------------------------------------------------------------------

describe('connectivity invariants (flows through the policy engine)', () => {
  const catalogs: Array<[string, Catalog]> = [
    ['default catalog', defaultCatalog()],
    ['default catalog, postgres with manageIngress', withManagedPostgres(defaultCatalog())],
  ];

  for (const [name, catalog] of catalogs) {
    describe(name, () => {
      const world: World = { catalog, namespaces: NAMESPACES, foreign: FOREIGN };

      it('a namespace that asks for nothing valid (no labels, invalid ones, a first-time typo, protected, platform) keeps exactly its traffic', () => {
        expect(askedNothing(world)).to.have.members(ASKED_NOTHING);
        checkAskedNothing(world);
      });

      it('an access label only adds the service, on its ports (to profiled, unprofiled, typo and hatch namespaces alike)', () => {
        for (const namespace of ['plain', 'reports', 'blog', 'legacy', 'vault', 'grafana', 'kube-system']) {
          for (const service of catalog.services.keys()) checkAccessOnlyAdds(world, namespace, service);
        }
      });

      it('a valid profile gives exactly its rules, the baselines and its services', () => {
        // The same namespaces under a naive rendering: the profile, access and baseline rules as
        // written, nothing additive, no exclusions. For a profiled namespace both must agree.
        const naive: KubeObject[] = [...FOREIGN];
        for (const ns of NAMESPACES) {
          const profile = catalog.profiles.get(ns.labels[PROFILE] ?? '');
          if (!profile || ns.labels[PLATFORM] === 'true' || ns.name === 'kube-system') continue;
          naive.push({
            apiVersion: 'cilium.io/v2',
            kind: 'CiliumNetworkPolicy',
            metadata: { name: 'naive-profile', namespace: ns.name },
            spec: { endpointSelector: {}, ingress: profile.ingress.length ? profile.ingress : [{}], egress: profile.egress.length ? profile.egress : [{}] },
          });
          for (const [key, value] of Object.entries(ns.labels)) {
            const service = key.startsWith(config.keys.accessPrefix) && value === 'true' ? catalog.services.get(key.slice(config.keys.accessPrefix.length)) : undefined;
            if (!service) continue;
            const to =
              service.target.kind === 'pods'
                ? { toEndpoints: [{ matchLabels: { ...service.target.podSelector.matchLabels, 'k8s:io.kubernetes.pod.namespace': service.target.namespace } }] }
                : { toEntities: [...service.target.entities] };
            naive.push({
              apiVersion: 'cilium.io/v2',
              kind: 'CiliumNetworkPolicy',
              metadata: { name: `naive-${service.name}`, namespace: ns.name },
              spec: { endpointSelector: {}, egress: [{ ...to, toPorts: [{ ports: service.ports.map((p) => ({ port: p.port, protocol: p.protocol })) }] }] },
            });
          }
        }
        for (const baseline of catalog.baselines.values()) {
          naive.push({ apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: `naive-${baseline.name}` }, spec: baseline.spec });
        }
        const profiled = ['shop', 'grafana', 'billing', 'reports', 'mesh-app'];
        const subjects = podsOf(profiled);
        const peers = peersOf(namesOf(NAMESPACES));
        const naiveEngine = new PolicyEngine({ namespaces: NAMESPACES, policies: naive });
        expectNoChange(changedCells(sideCells(naiveEngine, subjects, peers), sideCells(withOurs(world), subjects, peers)), 'profiled namespaces');
      });

      it('the escape hatch opens all L3/L4 traffic both ways, except a deny rule; the peer\'s own ingress still decides', () => {
        checkEscapeHatch(world, 'legacy');
      });

      it('a profile kept after a typo, or after its NetworkProfile turned invalid, keeps exactly what it had', () => {
        checkKeptProfile(world, 'shop', (w) => setLabels(w, 'shop', { ...NAMESPACES[0]!.labels, [PROFILE]: 'standrad' }));
        checkKeptProfile(world, 'shop', (w) => {
          const profiles = new Map(w.catalog.profiles);
          profiles.delete('standard');
          return { ...w, catalog: { ...w.catalog, profiles, rejected: { ...w.catalog.rejected, profiles: new Set(['standard']) } } };
        });
      });
    });
  }

  describe('the example namespaces (examples/namespaces.yaml, with examples/policies.yaml)', () => {
    const { documents } = readDocuments([EXAMPLE_NAMESPACES, projectPath('examples/policies.yaml')], () => '');
    const namespaces: NamespaceLabels[] = documents.filter((d) => d.object.kind === 'Namespace').map((d) => ({ name: d.object.metadata!.name!, labels: (d.object.metadata?.labels ?? {}) as Record<string, string> }));
    const world: World = { catalog: defaultCatalog(), namespaces, foreign: documents.filter((d) => d.object.kind !== 'Namespace').map((d) => d.object) };

    it('blog (a typo), monitoring (platform), database, cache, garage, istio-gateway and kube-system keep exactly their traffic', () => {
      expect(askedNothing(world)).to.have.members(['blog', 'monitoring', 'database', 'cache', 'garage', 'istio-gateway', 'kube-system']);
      checkAskedNothing(world);
    });

    it('legacy-crm (the escape hatch) is open both ways; access labels only add; kept profiles keep', () => {
      checkEscapeHatch(world, 'legacy-crm');
      for (const namespace of ['reports', 'blog', 'grafana']) for (const service of world.catalog.services.keys()) checkAccessOnlyAdds(world, namespace, service);
      checkKeptProfile(world, 'shop', (w) => setLabels(w, 'shop', { ...namespaces.find((ns) => ns.name === 'shop')!.labels, [PROFILE]: 'standrad' }));
    });
  });

  describe('generated label sets (property test, seeded)', () => {
    const catalog = withManagedPostgres(defaultCatalog());
    const profileValues = ['standard', 'internal', 'internal-egress', 'isolated', 'standrad', 'Bad_Value', ''];
    const services = [...catalog.services.keys(), 'nosuch'];
    const names = ['team-a', 'team-b', 'team-c', 'team-d', 'team-e', 'kube-system'];
    const platform = ['database', 'cache', 'garage', 'monitoring', 'istio-gateway', 'istio-system'];

    function randomWorld(random: () => number): World {
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
      const namespaces: NamespaceLabels[] = names.map((name) => {
        const labels: Record<string, string> = {};
        if (random() < 0.7) labels[PROFILE] = pick(profileValues);
        for (const service of services) if (random() < 0.25) labels[access(service)] = pick(['true', 'true', 'false', 'yes']);
        if (random() < 0.15) labels[ENFORCEMENT] = pick(['disabled', 'enabled', 'off']);
        if (random() < 0.1) labels[PLATFORM] = 'true';
        if (random() < 0.2) labels['istio.io/dataplane-mode'] = 'ambient';
        if (labels[PROFILE] === '') delete labels[PROFILE];
        return { name, labels };
      });
      for (const name of platform) namespaces.push({ name, labels: name === 'monitoring' ? { [PLATFORM]: 'true' } : {} });
      const foreign = FOREIGN.filter(() => random() < 0.6);
      if (random() < 0.5) {
        foreign.push({
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: 'own', namespace: pick(names) },
          spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'], egress: [{ to: [{ namespaceSelector: {} }] }] },
        });
      }
      return { catalog, namespaces, foreign };
    }

    it('200 worlds: asked-for-nothing namespaces keep their traffic, access labels only add, the hatch opens, kept profiles keep', function () {
      this.timeout(120_000);
      const random = seededRandom(2026);
      for (let i = 0; i < 200; i++) {
        const world = randomWorld(random);
        const context = `world ${i}: ${JSON.stringify(world.namespaces.filter((ns) => Object.keys(ns.labels).length > 0))}`;
        try {
          checkAskedNothing(world);
          const target = names[Math.floor(random() * names.length)]!;
          const service = services[Math.floor(random() * (services.length - 1))]!;
          checkAccessOnlyAdds(world, target, service);
          const hatch = world.namespaces.find((ns) => ns.labels[ENFORCEMENT] === 'disabled');
          if (hatch) checkEscapeHatch(world, hatch.name);
          const profiled = world.namespaces.find((ns) => ['standard', 'internal', 'internal-egress', 'isolated'].includes(ns.labels[PROFILE] ?? '') && ns.labels[PLATFORM] !== 'true' && ns.name !== 'kube-system');
          if (profiled) checkKeptProfile(world, profiled.name, (w) => setLabels(w, profiled.name, { ...profiled.labels, [PROFILE]: 'standrad' }));
        } catch (error) {
          throw new Error(`${context}\n${(error as Error).message}`);
        }
      }
    });
  });
});

describe('the defects the traffic issue reported, as flows', () => {
  const catalog = defaultCatalog();
  const engineFor = (namespaces: NamespaceLabels[], c: Catalog = catalog, foreign: KubeObject[] = []) => withOurs({ catalog: c, namespaces, foreign });
  const verdict = (engine: PolicyEngine, from: Endpoint, to: Endpoint, port: number, protocol: 'TCP' | 'UDP' = 'TCP') =>
    engine.decide({ from, to, port, protocol }).verdict;
  const dns = pod('kube-system', { 'k8s-app': 'kube-dns' });

  it('1. an access label on a namespace without a profile keeps its other egress, DNS included', () => {
    const engine = engineFor([{ name: 'app', labels: { [access('postgres')]: 'true' } }, { name: 'database', labels: {} }, { name: 'kube-system', labels: {} }]);
    expect(verdict(engine, pod('app'), dns, 53, 'UDP')).to.equal('allowed');
    expect(verdict(engine, pod('app'), { kind: 'world', ip: '198.51.100.7' }, 443)).to.equal('allowed');
    expect(verdict(engine, pod('app'), pod('database', { app: 'postgres' }), 5432)).to.equal('allowed');
  });

  it('2. manageIngress keeps every other ingress of the service pods (replication, operator, Prometheus)', () => {
    const engine = engineFor(
      [{ name: 'app', labels: { [access('postgres')]: 'true' } }, { name: 'database', labels: {} }, { name: 'monitoring', labels: {} }],
      withManagedPostgres(catalog),
    );
    const postgres = pod('database', { app: 'postgres' });
    expect(verdict(engine, pod('database', { app: 'postgres-replica' }), postgres, 5432)).to.equal('allowed');
    expect(verdict(engine, pod('monitoring', { 'app.kubernetes.io/name': 'prometheus' }), postgres, 9187)).to.equal('allowed');
    expect(verdict(engine, pod('app'), postgres, 5432)).to.equal('allowed');
  });

  it('3. baselines leave platform and mistyped namespaces alone: Prometheus keeps scraping, blog keeps HTTPS', () => {
    const engine = engineFor([
      { name: 'monitoring', labels: { [PLATFORM]: 'true', [PROFILE]: 'standard' } },
      { name: 'blog', labels: { [PROFILE]: 'standrad' } },
      { name: 'shop', labels: { [PROFILE]: 'standard' } },
      { name: 'plain', labels: {} },
    ]);
    const prometheus = pod('monitoring', { 'app.kubernetes.io/name': 'prometheus' });
    expect(verdict(engine, prometheus, pod('shop'), 9090)).to.equal('allowed');
    expect(verdict(engine, prometheus, pod('blog'), 9090)).to.equal('allowed');
    expect(verdict(engine, prometheus, { kind: 'world', ip: '198.51.100.7' }, 443)).to.equal('allowed');
    expect(verdict(engine, pod('blog'), { kind: 'world', ip: '198.51.100.7' }, 443)).to.equal('allowed');
    expect(verdict(engine, pod('plain'), pod('blog'), 8080)).to.equal('allowed');
    expect(verdict(engine, pod('plain'), pod('monitoring'), 8080)).to.equal('allowed');
  });

  it('4a. probes: kubelet (host) and Istio ambient (169.254.7.127) reach profiled pods; other link-local addresses and cilium-health do not', () => {
    const engine = engineFor([{ name: 'shop', labels: { [PROFILE]: 'isolated' } }]);
    expect(verdict(engine, { kind: 'reserved', entity: 'host' }, pod('shop'), 8080)).to.equal('allowed');
    expect(verdict(engine, { kind: 'world', ip: '169.254.7.127' }, pod('shop'), 8080)).to.equal('allowed');
    expect(verdict(engine, { kind: 'world', ip: '169.254.1.1' }, pod('shop'), 8080)).to.equal('denied');
    expect(verdict(engine, { kind: 'reserved', entity: 'health' }, pod('shop'), 8080)).to.equal('denied');
  });

  it('4b. the default gateways are the Istio gateways in istio-gateway, selected by gateway-name', () => {
    const engine = engineFor([{ name: 'shop', labels: { [PROFILE]: 'standard' } }, { name: 'istio-gateway', labels: {} }]);
    expect(verdict(engine, pod('istio-gateway', { 'gateway.networking.k8s.io/gateway-name': 'external' }), pod('shop'), 8080)).to.equal('allowed');
    expect(verdict(engine, pod('istio-gateway', { 'gateway.networking.k8s.io/gateway-name': 'other' }), pod('shop'), 8080)).to.equal('denied');
  });

  it('4c. Istio ambient namespaces get HBONE to and from ztunnel; an unprofiled ambient namespace is not put in default-deny', () => {
    const engine = engineFor([
      { name: 'mesh', labels: { [PROFILE]: 'isolated', 'istio.io/dataplane-mode': 'ambient' } },
      { name: 'loose', labels: { 'istio.io/dataplane-mode': 'ambient' } },
      { name: 'istio-system', labels: {} },
    ]);
    const ztunnel = pod('istio-system', { app: 'ztunnel' });
    expect(verdict(engine, ztunnel, pod('mesh'), 15008)).to.equal('allowed');
    expect(verdict(engine, pod('mesh'), ztunnel, 15008)).to.equal('allowed');
    expect(verdict(engine, ztunnel, pod('mesh'), 15009)).to.equal('denied');
    expect(verdict(engine, pod('loose'), { kind: 'world', ip: '198.51.100.7' }, 443)).to.equal('allowed');
  });
});

describe('strict mode keeps cluster DNS, the gateways and Cilium health working', () => {
  it('every pod outside protected, platform and Istio namespaces is in default-deny; DNS, gateways, health and Prometheus still work', () => {
    const strict = kustomizeCatalog('examples/strict');
    const namespaces: NamespaceLabels[] = [
      { name: 'shop', labels: { [PROFILE]: 'standard' } },
      { name: 'unlabelled', labels: {} },
      { name: 'kube-system', labels: {} },
      { name: 'monitoring', labels: { [PLATFORM]: 'true' } },
      { name: 'istio-gateway', labels: {} },
      { name: 'istio-system', labels: {} },
    ];
    const engine = withOurs({ catalog: strict, namespaces, foreign: [] });
    const v = (from: Endpoint, to: Endpoint, port: number, protocol: 'TCP' | 'UDP' = 'TCP') => engine.decide({ from, to, port, protocol }).verdict;
    const world: Endpoint = { kind: 'world', ip: '198.51.100.7' };
    const external = pod('istio-gateway', { 'gateway.networking.k8s.io/gateway-name': 'external' });
    // Cluster DNS: kube-system is protected, so kube-dns is not selected; every pod reaches it.
    for (const from of ['shop', 'unlabelled', 'monitoring']) expect(v(pod(from), pod('kube-system', { 'k8s-app': 'kube-dns' }), 53, 'UDP'), from).to.equal('allowed');
    // The gateways: the internet reaches them, they reach the apps.
    expect(v(world, external, 443)).to.equal('allowed');
    expect(v(external, pod('shop'), 8080)).to.equal('allowed');
    // Cilium health: its endpoints are not pods, so no baseline selects them.
    expect(v({ kind: 'reserved', entity: 'remote-node' }, { kind: 'reserved', entity: 'health' }, 4240)).to.equal('allowed');
    // Prometheus (a platform namespace) scrapes everything.
    expect(v(pod('monitoring', { 'app.kubernetes.io/name': 'prometheus' }), pod('unlabelled'), 9090)).to.equal('allowed');
    // And strict is strict: an unlabelled namespace has DNS only.
    expect(v(pod('unlabelled'), world, 443)).to.equal('denied');
    expect(v(pod('shop'), pod('unlabelled'), 8080)).to.equal('denied');
  });
});
