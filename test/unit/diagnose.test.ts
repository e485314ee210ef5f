// `diagnose`'s pieces: reading Hubble's flows (the real field names, wrapped or bare, enums as names
// or numbers, reserved identities, IPv6, what is not a flow), and explaining drops on the default
// catalog: the seed's drop table, each cause, the fix and its proof. Also: a what-if scenario
// decides exactly as the same world built from scratch.
import type { ObservedPolicy, KubeObject } from '../../src/kube/types.js';
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { makeRenderConfig } from '../../src/config.js';
import { buildCatalog } from '../../src/catalog/load.js';
import { DropReader, readDrops } from '../../src/diagnose/drops.js';
import { Diagnoser } from '../../src/diagnose/explain.js';
import { parseFlowLine, readFlow, type DroppedFlow } from '../../src/diagnose/hubble.js';
import type { NamespaceLabels } from '../../src/engine/identity.js';
import { buildScenario, whatIf } from '../../src/simulate/scenario.js';
import { defaultCatalog, projectPath } from '../support/project.js';
import { access, changedCells, ENFORCEMENT, peersOf, PLATFORM, podsOf, PROFILE, seededRandom, sideCells } from '../support/traffic.js';

const D = 'network-policy.homelab';
const catalog = defaultCatalog();
const config = makeRenderConfig();

type Side = Record<string, unknown>;
const pod = (namespace: string, labels: Record<string, string> = {}, nsLabels: Record<string, string> = {}, workload?: string): Side => ({
  ID: 1234,
  identity: 40000,
  namespace,
  labels: [
    ...Object.entries({ ...nsLabels, 'kubernetes.io/metadata.name': namespace }).map(([k, v]) => `k8s:io.cilium.k8s.namespace.labels.${k}=${v}`),
    'k8s:io.cilium.k8s.policy.cluster=default',
    'k8s:io.cilium.k8s.policy.serviceaccount=default',
    `k8s:io.kubernetes.pod.namespace=${namespace}`,
    ...Object.entries(labels).map(([k, v]) => `k8s:${k}=${v}`),
  ].sort(),
  pod_name: `${workload ?? 'app'}-5d78c9869d-4kq2w`,
  ...(workload ? { workloads: [{ name: workload, kind: 'Deployment' }] } : {}),
});
const reserved = (identity: number, ...names: string[]): Side => ({ identity, labels: names.map((n) => `reserved:${n}`) });

function dropped(source: Side, destination: Side, port: number, direction: 'EGRESS' | 'INGRESS', extra: Record<string, unknown> = {}): DroppedFlow {
  const result = readFlow({
    verdict: 'DROPPED',
    drop_reason: 133,
    IP: { source: '10.244.1.5', destination: '10.244.2.9', ipVersion: 'IPv4' },
    l4: { TCP: { source_port: 40000, destination_port: port, flags: { SYN: true } } },
    source,
    destination,
    Type: 'L3_L4',
    event_type: { type: 1, sub_type: 133 },
    traffic_direction: direction,
    drop_reason_desc: 'POLICY_DENIED',
    ...extra,
  });
  if (result.kind !== 'drop') throw new Error('expected a drop');
  return result.flow;
}

describe('diagnose: reading Hubble flows', () => {
  it('a GetFlowsResponse line (what hubble observe -o json prints) and a bare Flow line read the same', () => {
    const flow = { verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENIED', traffic_direction: 'EGRESS', l4: { UDP: { source_port: 1, destination_port: 53 } }, source: pod('shop'), destination: reserved(2, 'world') };
    const wrapped = parseFlowLine(JSON.stringify({ flow, node_name: 'n', time: '2026-11-30T10:00:00Z' }));
    const bare = parseFlowLine(JSON.stringify(flow));
    expect(wrapped).to.deep.equal(bare);
    expect(wrapped.kind).to.equal('drop');
    if (wrapped.kind !== 'drop') return;
    expect(wrapped.flow).to.deep.include({ verdict: 'DROPPED', dropReason: 'POLICY_DENIED', direction: 'egress', port: 53, protocol: 'UDP' });
  });

  it('enums given as numbers (a CLI older than the agent) and drop_reason alone are read by their numbers', () => {
    const result = parseFlowLine(JSON.stringify({ flow: { verdict: 2, drop_reason: 181, traffic_direction: 1, l4: { TCP: { destination_port: 80 } }, source: pod('a'), destination: pod('b') } }));
    expect(result.kind).to.equal('drop');
    if (result.kind === 'drop') expect(result.flow).to.deep.include({ dropReason: 'POLICY_DENY', direction: 'ingress' });
    const unknown = parseFlowLine(JSON.stringify({ flow: { verdict: 'DROPPED', drop_reason_desc: 240, source: pod('a'), destination: pod('b') } }));
    expect(unknown.kind).to.equal('drop');
    if (unknown.kind === 'drop') expect(unknown.flow.dropReason).to.equal('DROP_REASON_240');
  });

  it('endpoints: a pod by workload with its own labels (namespace labels apart), the API server, the world by name and address, IPv6', () => {
    const flow = dropped(pod('shop', { app: 'web', 'pod-template-hash': 'abc' }, { [`${D}/profile`]: 'standard' }, 'web'), reserved(7, 'kube-apiserver', 'remote-node'), 6443, 'EGRESS');
    expect(flow.source.text).to.equal('shop/web');
    expect(flow.source.endpoint).to.deep.equal({ kind: 'pod', namespace: 'shop', labels: { app: 'web', 'pod-template-hash': 'abc' }, name: 'web', serviceAccount: 'default' });
    expect(flow.source.namespaceLabels).to.deep.equal({ [`${D}/profile`]: 'standard', 'kubernetes.io/metadata.name': 'shop' });
    expect(flow.destination).to.deep.equal({ endpoint: { kind: 'reserved', entity: 'kube-apiserver' }, text: 'reserved:kube-apiserver' });
    const world = dropped(pod('shop'), { identity: 16777259, labels: ['cidr:140.82.112.6/32', 'fqdn:api.github.com.', 'reserved:world-ipv4'] }, 443, 'EGRESS', {
      IP: { source: '10.244.1.5', destination: '140.82.112.6', ipVersion: 'IPv4' },
      destination_names: ['api.github.com'],
    });
    expect(world.destination).to.deep.equal({ endpoint: { kind: 'world', ip: '140.82.112.6', fqdn: 'api.github.com' }, text: 'api.github.com' });
    const v6 = dropped(pod('shop'), reserved(2, 'world'), 443, 'EGRESS', { IP: { source: 'fd00::5', destination: '2606:50c0:8000::154', ipVersion: 'IPv6' } });
    expect(v6.destination.text).to.equal('2606:50c0:8000::154');
    const host = dropped(reserved(1, 'host'), pod('shop'), 8080, 'INGRESS');
    expect(host.source.text).to.equal('reserved:host');
  });

  it('odd input never crashes: short and truncated lines, a line with no end, a BOM, values of the wrong type', async () => {
    const lines = [
      '{"flow":{"verdict":"DROPPED"}}',
      '{"flow":{"verdict":"FORW',
      '{"verdict":"F"}',
      '\ufeff{"flow":{"verdict":"FORWARDED","source":{}}}',
      JSON.stringify({ flow: { verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENIED', l4: { TCP: { destination_port: 1e99 } }, source: { namespace: 'UPPER_bad!', workloads: [{ name: '\u001b[2J' }] }, destination: { labels: ['reserved:world'] }, egress_denied_by: [{ name: { x: 1 } }] } }),
    ];
    const read = await readDrops(Readable.from([Buffer.from(`\ufeff${lines.slice(1).join('\n')}\n${lines[0]}`)]));
    expect(read.lines).to.equal(5);
    expect(read.badLines.map((b) => b.message)).to.deep.equal(['is not JSON']);
    const odd = read.groups.find((g) => g.flow.dropReason === 'POLICY_DENIED')!;
    expect(odd.flow.port).to.equal(undefined);
    expect(odd.flow.source).to.deep.equal({ endpoint: undefined, text: '(unknown)' });
    expect(odd.flow.deniedBy).to.deep.equal([]);
    // A line that never ends is named and dropped as it grows, not buffered to the end of the input.
    const endless = await readDrops(Readable.from((function* () {
      for (let i = 0; i < 80; i++) yield Buffer.alloc(64 * 1024, 0x61);
    })()));
    expect(endless.badLines).to.deep.equal([{ line: 1, message: 'is longer than 4 MiB: not a Hubble flow' }]);
  });

  it('a pod keeps its service account (policies may select on it)', () => {
    const flow = dropped({ ...pod('shop'), labels: ['k8s:io.cilium.k8s.policy.serviceaccount=backup', 'k8s:io.kubernetes.pod.namespace=shop'] }, reserved(2, 'world'), 443, 'EGRESS');
    expect(flow.source.endpoint).to.deep.include({ serviceAccount: 'backup' });
  });

  it('forwarded flows and replies are flows, not drops; lost events are skipped; a broken line is named', async () => {
    const reader = new DropReader();
    const lines = readFileSync(projectPath('examples/hubble-flows.jsonl'), 'utf8').trimEnd().split('\n');
    for (const line of lines) reader.add(line);
    const slow = reader.result();
    expect(slow.lines).to.equal(lines.length);
    expect(slow.badLines).to.deep.equal([{ line: lines.length, message: 'is not JSON' }]);
    expect(slow.flows).to.equal(lines.length - 2); // all but the lost-events notice and the broken line
    // The byte-level fast path (what the command runs) reads exactly the same.
    const fast = await readDrops(Readable.from([Buffer.from(lines.join('\r\n'))]));
    expect(fast.flows).to.equal(slow.flows);
    expect(fast.badLines).to.deep.equal(slow.badLines);
    expect(fast.groups.map((g) => [g.key, g.dropEvents, g.verdictEvents])).to.deep.equal(slow.groups.map((g) => [g.key, g.dropEvents, g.verdictEvents]));
    // A policy drop Cilium reports twice (drop event and policy verdict) counts once.
    const reports = fast.groups.find((g) => g.flow.source.text === 'reports/nightly' && g.port === '5432/TCP')!;
    expect([reports.dropEvents, reports.verdictEvents]).to.deep.equal([3, 1]);
  });
});

describe('diagnose: causes and fixes on the default catalog (the seed drop table)', () => {
  const namespaces: NamespaceLabels[] = [
    { name: 'web', labels: { [PROFILE]: 'standard' } },
    { name: 'dash', labels: { [PROFILE]: 'internal' } },
    { name: 'api', labels: { [PROFILE]: 'internal-egress' } },
    { name: 'batch', labels: { [PROFILE]: 'isolated', [access('garage-s3')]: 'true' } },
    { name: 'legacy', labels: { [PROFILE]: 'standard', [ENFORCEMENT]: 'disabled' } },
    { name: 'monitoring', labels: { [PLATFORM]: 'true' } },
    { name: 'database', labels: {} },
    { name: 'kube-system', labels: {} },
    { name: 'istio-gateway', labels: {} },
  ];
  const foreign: KubeObject[] = [
    {
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumClusterwideNetworkPolicy',
      metadata: { name: 'block-cloud-metadata' },
      spec: { endpointSelector: {}, enableDefaultDeny: { egress: false, ingress: false }, egressDeny: [{ toCIDR: ['169.254.169.254/32'] }] },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'own', namespace: 'database' },
      spec: { podSelector: { matchLabels: { app: 'postgres' } }, ingress: [{ from: [{ podSelector: {} }] }] },
    },
  ];
  const diagnoser = new Diagnoser({ catalog, namespaces, config, otherPolicies: [] });
  const withForeign = new Diagnoser({ catalog, namespaces, config, otherPolicies: foreign });

  it('egress to database/app=postgres 5432 from a standard namespace: missing-access-label, access.D/postgres "true", proven', () => {
    const d = diagnoser.diagnose(dropped(pod('web'), pod('database', { app: 'postgres' }), 5432, 'EGRESS'));
    expect(d.cause).to.equal('missing-access-label');
    expect(d.fix).to.deep.equal({ namespace: 'web', labels: { [`access.${D}/postgres`]: 'true' } });
    expect(d.proof!.verdict).to.equal('allowed');
    expect(d.proof!.egress.reasons).to.deep.equal([{ type: 'allow', policy: 'CiliumNetworkPolicy web/access-postgres', rule: 'egress[0]' }]);
  });

  it('egress to the internet on 443 from internal: profile-too-narrow, internal-egress, which keeps everything internal allows', () => {
    const d = diagnoser.diagnose(dropped(pod('dash'), { identity: 2, labels: ['reserved:world'] }, 443, 'EGRESS', { IP: { source: '10.244.1.5', destination: '140.82.112.6', ipVersion: 'IPv4' } }));
    expect(d.cause).to.equal('profile-too-narrow');
    expect(d.fix).to.deep.equal({ namespace: 'dash', labels: { [`${D}/profile`]: 'internal-egress' } });
    expect(d.detail).to.contain('keeps everything profile internal allows');
    expect(d.proof!.verdict).to.equal('allowed');
  });

  it('ingress from the external gateway to internal-egress: profile-too-narrow, standard on the destination', () => {
    const d = diagnoser.diagnose(dropped(pod('istio-gateway', { 'gateway.networking.k8s.io/gateway-name': 'external' }), pod('api'), 8080, 'INGRESS'));
    expect(d.cause).to.equal('profile-too-narrow');
    expect(d.fix).to.deep.equal({ namespace: 'api', labels: { [`${D}/profile`]: 'standard' } });
    expect(d.proof!.ingress.reasons[0]).to.deep.include({ type: 'allow', policy: 'CiliumNetworkPolicy api/profile-standard' });
  });

  it('egress to kube-dns 53 and ingress from Prometheus dropped: baseline-missing, naming the baseline', () => {
    const dns = diagnoser.diagnose(dropped(pod('web'), pod('kube-system', { 'k8s-app': 'kube-dns' }), 53, 'EGRESS', { l4: { UDP: { source_port: 3000, destination_port: 53 } } }));
    expect(dns.cause).to.equal('baseline-missing');
    expect(dns.fix).to.equal(null);
    expect(dns.detail).to.contain('baseline-dns (egress[0]) allows it').and.contain('kubectl get ccnp baseline-dns');
    const scrape = diagnoser.diagnose(dropped(pod('monitoring', { 'app.kubernetes.io/name': 'prometheus' }), pod('web'), 9090, 'INGRESS'));
    expect(scrape.cause).to.equal('baseline-missing');
    expect(scrape.detail).to.contain('baseline-prometheus-scrape');
  });

  it('a profile that cannot keep everything says what the switch would lose; the narrowest is chosen', () => {
    // batch (isolated) to the internet: internal-egress and standard both allow it; neither keeps
    // nothing-extra, both keep what isolated allows: the narrower one, internal-egress.
    const d = diagnoser.diagnose(dropped(pod('batch'), reserved(2, 'world'), 443, 'EGRESS', { IP: { source: '10.244.1.5', destination: '203.0.113.9', ipVersion: 'IPv4' } }));
    expect(d.fix).to.deep.equal({ namespace: 'batch', labels: { [`${D}/profile`]: 'internal-egress' } });
    // Profiles that are not nested: the only one that admits the external gateway loses the internal one.
    const gateway = (name: string) => ({ 'k8s:io.kubernetes.pod.namespace': 'istio-gateway', 'k8s:gateway.networking.k8s.io/gateway-name': name });
    const { catalog: custom } = buildCatalog(
      [
        { name: 'backoffice', spec: { ingress: [{ fromEndpoints: [{ matchLabels: gateway('internal') }] }] } },
        { name: 'public', spec: { ingress: [{ fromEndpoints: [{ matchLabels: gateway('external') }] }] } },
      ].map(({ name, spec }) => ({ source: 't', object: { apiVersion: `${D}/v1alpha1`, kind: 'NetworkProfile', metadata: { name }, spec } })),
    );
    const lossy = new Diagnoser({ catalog: custom, namespaces: [{ name: 'bo', labels: { [PROFILE]: 'backoffice' } }, { name: 'istio-gateway', labels: {} }], config, otherPolicies: [] });
    const switched = lossy.diagnose(dropped(pod('istio-gateway', { 'gateway.networking.k8s.io/gateway-name': 'external' }), pod('bo'), 8080, 'INGRESS'));
    expect(switched.fix).to.deep.equal({ namespace: 'bo', labels: { [`${D}/profile`]: 'public' } });
    expect(switched.detail).to.match(/no profile that allows it keeps everything profile backoffice allows: the switch would lose 1 \(ingress from istio-gateway\/gateway\.networking\.k8s\.io\/gateway-name=internal/);
    // web (standard) to the internet on 22: no profile allows it.
    const none = diagnoser.diagnose(dropped(pod('web'), reserved(2, 'world'), 22, 'EGRESS', { IP: { source: '10.244.1.5', destination: '203.0.113.9', ipVersion: 'IPv4' } }));
    expect(none.cause).to.equal('not-in-catalog');
    expect(none.detail).to.contain('a request for the platform team');
  });

  it('explicit-deny names the deny rule; peer-denies names the destination and its policy', () => {
    const deny = withForeign.diagnose(dropped(pod('web'), reserved(2, 'world'), 80, 'EGRESS', { IP: { source: '10.244.1.5', destination: '169.254.169.254', ipVersion: 'IPv4' }, drop_reason_desc: 'POLICY_DENY', drop_reason: 181 }));
    expect(deny.cause).to.equal('explicit-deny');
    expect(deny.detail).to.contain('CiliumClusterwideNetworkPolicy block-cloud-metadata egressDeny[0]');
    const peer = withForeign.diagnose(dropped(pod('monitoring', { 'app.kubernetes.io/name': 'prometheus' }), pod('database', { app: 'postgres' }), 9187, 'INGRESS'));
    expect(peer.cause).to.equal('peer-denies');
    expect(peer.detail).to.contain('database refuses it').and.contain('NetworkPolicy database/own');
  });

  it('baseline-missing only when baselines alone allow it; a namespace the inputs lack is unlabelled and fixable; a grant the peer still refuses is peer-denies', () => {
    const gateway = { 'k8s:io.kubernetes.pod.namespace': 'kube-system', 'k8s:k8s-app': 'kube-dns' };
    const { catalog: withDnsProfile } = buildCatalog([
      ...[...catalog.baselines.values()].map((b) => ({ source: 't', object: { apiVersion: `${D}/v1alpha1`, kind: 'NetworkBaseline', metadata: { name: b.name }, spec: b.spec } })),
      { source: 't', object: { apiVersion: `${D}/v1alpha1`, kind: 'NetworkProfile', metadata: { name: 'dnsself' }, spec: { egress: [{ toEndpoints: [{ matchLabels: gateway }], toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }] }] }] } } },
    ]);
    const both = new Diagnoser({ catalog: withDnsProfile, namespaces: [{ name: 'a', labels: { [PROFILE]: 'dnsself' } }, { name: 'kube-system', labels: {} }], config, otherPolicies: [] });
    const dns = both.diagnose(dropped(pod('a'), pod('kube-system', { 'k8s-app': 'kube-dns' }), 53, 'EGRESS', { l4: { UDP: { source_port: 3000, destination_port: 53 } } }));
    expect(dns.cause).to.equal('allowed-now');

    // zzz is not among the namespaces, only its own lock-down policy is: it is unlabelled, and a profile fixes it.
    const locked: KubeObject = { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'lock', namespace: 'zzz' }, spec: { endpointSelector: {}, egress: [{}] } };
    const stranger = new Diagnoser({ catalog, namespaces, config, otherPolicies: [locked] }).diagnose(dropped(pod('zzz'), reserved(2, 'world'), 443, 'EGRESS', { IP: { source: '10.244.1.5', destination: '203.0.113.9', ipVersion: 'IPv4' } }));
    expect(stranger.cause).to.equal('profile-too-narrow');
    expect(stranger.fix).to.deep.equal({ namespace: 'zzz', labels: { [`${D}/profile`]: 'internal-egress' } });

    const refused = withForeign.diagnose(dropped(pod('web'), pod('database', { app: 'postgres' }), 5432, 'EGRESS'));
    expect(refused.cause).to.equal('peer-denies');
    expect(refused.fix).to.equal(null);
    expect(refused.detail).to.contain(`access.${D}/postgres="true" on web would let it send`).and.contain('NetworkPolicy database/own');
  });

  it('not-a-policy-drop says the reason; allowed-now says which labels changed since the flow was seen', () => {
    const ct = diagnoser.diagnose(dropped(pod('web'), pod('database', { app: 'postgres' }), 5432, 'EGRESS', { drop_reason_desc: 'CT_MAP_INSERTION_FAILED', drop_reason: 155 }));
    expect(ct).to.deep.include({ cause: 'not-a-policy-drop', fix: null });
    expect(ct.detail).to.contain('CT_MAP_INSERTION_FAILED').and.contain('connection-tracking table is full');
    const then = dropped(pod('legacy', {}, { [`${D}/profile`]: 'standard' }), reserved(2, 'world'), 25, 'EGRESS', { IP: { source: '10.244.1.5', destination: '203.0.113.9', ipVersion: 'IPv4' } });
    const now = diagnoser.diagnose(then);
    expect(now.cause).to.equal('allowed-now');
    expect(now.detail).to.contain(`when the flow was seen legacy had ${D}/profile=standard; today ${D}/enforcement=disabled, ${D}/profile=standard`);
  });
});

describe('diagnose: a what-if decides exactly as the world built from scratch', () => {
  it('100 random label changes over worlds with foreign policies (a squatted name, a deny) and kept objects: every side cell agrees', function () {
    this.timeout(60_000);
    const random = seededRandom(13);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const names = ['a', 'b', 'c', 'd', 'database', 'monitoring', 'kube-system'];
    const labelsFor = (): Record<string, string> => {
      const labels: Record<string, string> = {};
      if (random() < 0.7) labels[PROFILE] = pick(['standard', 'internal', 'internal-egress', 'isolated', 'standrad']);
      for (const service of catalog.services.keys()) if (random() < 0.3) labels[access(service)] = pick(['true', 'false', 'yes']);
      if (random() < 0.1) labels[ENFORCEMENT] = 'disabled';
      if (random() < 0.1) labels[PLATFORM] = 'true';
      return labels;
    };
    const foreign: KubeObject[] = [
      { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'own', namespace: 'database' }, spec: { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] } },
      { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'profile-standard', namespace: 'c' }, spec: { endpointSelector: {}, egress: [{ toEntities: ['all'] }] } },
      { apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: 'deny-bad' }, spec: { endpointSelector: {}, enableDefaultDeny: { egress: false }, egressDeny: [{ toCIDR: ['192.0.2.66/32'] }] } },
    ];
    const managed = new Map(catalog.services);
    managed.set('postgres', { ...catalog.services.get('postgres')!, manageIngress: true });
    const world = { ...catalog, services: managed };
    for (let i = 0; i < 100; i++) {
      const namespaces = names.map((name) => ({ name, labels: labelsFor() }));
      // What the cluster holds: the objects of an earlier state (kept ones come from here).
      const earlier = buildScenario({ catalog: world, namespaces: namespaces.map((ns) => ({ ...ns, labels: random() < 0.5 ? labelsFor() : ns.labels })), config, otherPolicies: [] });
      const observedOwned = earlier.ours as ObservedPolicy[];
      const input = { catalog: world, namespaces, config, otherPolicies: foreign.filter(() => random() < 0.6), observedOwned };
      const base = buildScenario(input);
      const target = pick(names.slice(0, 4));
      const labels = labelsFor();
      const derived = whatIf(base, target, labels);
      const scratch = buildScenario({ ...input, namespaces: namespaces.map((ns) => (ns.name === target ? { name: target, labels } : ns)) });
      const subjects = podsOf(names);
      const peers = peersOf(names);
      const changes = changedCells(sideCells(scratch.engine, subjects, peers), sideCells(derived.engine, subjects, peers));
      expect(changes.slice(0, 3), `world ${i}: ${target} → ${JSON.stringify(labels)}`).to.deep.equal([]);
    }
  });
});
