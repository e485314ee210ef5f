// Benchmark of the test API server: CiliumNetworkPolicy creates per second through the real
// client-node at concurrency 1, 4 and 16, the same with the admission guards of
// manifests/admission/ installed (every create evaluated by their ValidatingAdmissionPolicies),
// and watch delivery latency (create sent → event seen).
// The server runs as its own process (as in `npm run apiserver`), so client and server each get a core.
// client-node 1.4 builds a new http.Agent, so a new TCP connection, for every request; the figures
// are given for that default and for client-node sharing one keep-alive agent.
import {
  createConfiguration,
  CustomObjectsApi,
  KubeConfig,
  ServerConfiguration,
  Watch,
  type RequestContext,
  type SecurityAuthentication,
} from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const here = path.dirname(fileURLToPath(import.meta.url));
const serverMain = path.resolve(here, '../test/support/apiserver/main.js');
const admissionDir = path.resolve(here, '../../manifests/admission');

interface Row {
  scenario: string;
  value: string;
}

function cnp(namespace: string, name: string): Record<string, unknown> {
  return {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'netpol-profiles', 'network-policy.homelab/generated-from': 'profile.standard' } },
    spec: {
      endpointSelector: {},
      ingress: [
        { fromEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'gateway' } }], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }] },
      ],
      egress: [
        { toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'kube-system', 'k8s:k8s-app': 'kube-dns' } }], toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }, { port: '53', protocol: 'TCP' }] }] },
        { toEntities: ['world'], toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }] },
      ],
    },
  };
}

async function startServer(): Promise<{ kubeconfig: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [serverMain], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const kubeconfig = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /kubeconfig: (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`server exited early (${code}): ${out}`)));
  });
  return {
    kubeconfig,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** client-node with its default transport: a new connection per request. */
function defaultClient(kc: KubeConfig): CustomObjectsApi {
  return kc.makeApiClient(CustomObjectsApi);
}

/** client-node whose requests share one keep-alive agent (authentication still from the kubeconfig). */
function keepAliveClient(kc: KubeConfig): CustomObjectsApi {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const auth: SecurityAuthentication = {
    getName: () => 'kubeconfig-keep-alive',
    applySecurityAuthentication: async (context: RequestContext) => {
      await kc.applySecurityAuthentication(context);
      context.setAgent(agent);
    },
  };
  return new CustomObjectsApi(
    createConfiguration({ baseServer: new ServerConfiguration(kc.getCurrentCluster()!.server, {}), authMethods: { default: auth } }),
  );
}

async function createNamespace(kc: KubeConfig, name: string): Promise<void> {
  const res = await fetch(`${kc.getCurrentCluster()!.server}/api/v1/namespaces`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ metadata: { name } }),
  });
  if (res.status !== 201) throw new Error(`namespace ${name}: ${res.status}`);
}

/** Installs manifests/admission/ (its ConfigMap, policies and bindings) over plain HTTP. */
async function installAdmissionGuards(kc: KubeConfig): Promise<void> {
  await createNamespace(kc, 'netpol-profiles');
  const urls: Record<string, string> = {
    ConfigMap: '/api/v1/namespaces/netpol-profiles/configmaps',
    ValidatingAdmissionPolicy: '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies',
    ValidatingAdmissionPolicyBinding: '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings',
  };
  const kustomization = parseAllDocuments(readFileSync(path.join(admissionDir, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as { resources: string[] };
  for (const file of kustomization.resources) {
    for (const doc of parseAllDocuments(readFileSync(path.join(admissionDir, file), 'utf8'))) {
      const obj = doc.toJS() as { kind: string };
      const res = await fetch(`${kc.getCurrentCluster()!.server}${urls[obj.kind]}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(obj) });
      if (res.status !== 201) throw new Error(`${file} ${obj.kind}: ${res.status} ${await res.text()}`);
    }
  }
}

async function createsPerSecond(api: CustomObjectsApi, namespace: string, total: number, concurrency: number): Promise<number> {
  let next = 0;
  const start = process.hrtime.bigint();
  const worker = async () => {
    for (let i = next++; i < total; i = next++) {
      await api.createNamespacedCustomObject({ group: 'cilium.io', version: 'v2', namespace, plural: 'ciliumnetworkpolicies', body: cnp(namespace, `p-${i}`) });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return total / seconds;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function watchLatency(kc: KubeConfig, api: CustomObjectsApi, namespace: string, count: number): Promise<{ p50: number; p99: number; max: number }> {
  const sent = new Map<string, bigint>();
  const latencies: number[] = [];
  let resolveAll!: () => void;
  const allSeen = new Promise<void>((resolve) => (resolveAll = resolve));
  const controller = await new Watch(kc).watch(
    `/apis/cilium.io/v2/namespaces/${namespace}/ciliumnetworkpolicies`,
    {},
    (type, obj: { metadata?: { name?: string } }) => {
      const t0 = sent.get(obj.metadata?.name ?? '');
      if (type !== 'ADDED' || t0 === undefined) return;
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (latencies.length === count) resolveAll();
    },
    () => undefined,
  );
  for (let i = 0; i < count; i++) {
    const name = `lat-${i}`;
    sent.set(name, process.hrtime.bigint());
    await api.createNamespacedCustomObject({ group: 'cilium.io', version: 'v2', namespace, plural: 'ciliumnetworkpolicies', body: cnp(namespace, name) });
  }
  await allSeen;
  controller.abort();
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1)! };
}

async function main(): Promise<void> {
  const server = await startServer();
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(server.kubeconfig);
    const rows: Row[] = [];
    for (const [label, api] of [
      ['client-node default', defaultClient(kc)],
      ['client-node keep-alive', keepAliveClient(kc)],
    ] as const) {
      const prefix = label.replace(/[^a-z]+/g, '-');
      await createNamespace(kc, `${prefix}warmup`);
      await createsPerSecond(api, `${prefix}warmup`, 2000, 16);
      for (const [concurrency, total] of [
        [1, 3000],
        [4, 6000],
        [16, 10000],
      ] as const) {
        const ns = `${prefix}c${concurrency}`;
        await createNamespace(kc, ns);
        const rate = await createsPerSecond(api, ns, total, concurrency);
        rows.push({ scenario: `${label}: CNP creates/s, concurrency ${concurrency} (${total})`, value: rate.toFixed(0) });
      }
    }
    const api = keepAliveClient(kc);
    await installAdmissionGuards(kc);
    for (const [concurrency, total] of [
      [1, 3000],
      [16, 10000],
    ] as const) {
      const ns = `guarded-c${concurrency}`;
      await createNamespace(kc, ns);
      const rate = await createsPerSecond(api, ns, total, concurrency);
      rows.push({ scenario: `client-node keep-alive, admission guards installed: CNP creates/s, concurrency ${concurrency} (${total})`, value: rate.toFixed(0) });
    }
    await createNamespace(kc, 'latency');
    const lat = await watchLatency(kc, api, 'latency', 1000);
    rows.push({ scenario: 'watch latency p50 (create sent → ADDED seen, 1000 creates)', value: `${lat.p50.toFixed(2)} ms` });
    rows.push({ scenario: 'watch latency p99', value: `${lat.p99.toFixed(2)} ms` });
    rows.push({ scenario: 'watch latency max', value: `${lat.max.toFixed(2)} ms` });
    const width = Math.max(...rows.map((r) => r.scenario.length));
    process.stdout.write(`\ntest API server benchmark (node ${process.version}, server in its own process)\n\n`);
    process.stdout.write(`${'scenario'.padEnd(width)}  result\n${'-'.repeat(width)}  ${'-'.repeat(12)}\n`);
    for (const r of rows) process.stdout.write(`${r.scenario.padEnd(width)}  ${r.value}\n`);
  } finally {
    await server.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
