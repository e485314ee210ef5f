// Benchmark of `diagnose`: 1,000,000 Hubble flow lines (about 1 GB, as `hubble observe -o json`
// prints them: one in ten dropped, over a few hundred distinct drops, half of them to the internet,
// which a profile switch fixes, so the fix search runs) written to a temporary file,
// then read back through the same streaming reader and diagnoser the command uses. Prints flows
// per second, the time to explain the groups, and peak memory, sampled through the run: memory
// must not grow with the input. Run: npm run bench:diagnose  (BENCH_LINES to change the count)
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { makeRenderConfig } from '../src/config.js';
import { readDrops } from '../src/diagnose/drops.js';
import { Diagnoser } from '../src/diagnose/explain.js';
import { defaultCatalog } from '../test/support/project.js';
import { benchLabels, benchNamespaces } from './fixtures.js';

const LINES = Number(process.env.BENCH_LINES ?? 1_000_000);
const NAMESPACES = 1_000;
const dir = mkdtempSync(path.join(tmpdir(), 'netpol-bench-diagnose-'));
const file = path.join(dir, 'flows.jsonl');

let peakRss = process.memoryUsage().rss;
const rssSamples: number[] = [];
const sampler = setInterval(() => {
  const rss = process.memoryUsage().rss;
  peakRss = Math.max(peakRss, rss);
  rssSamples.push(rss);
}, 50);

function endpoint(ns: number, app: string): Record<string, unknown> {
  const name = `team-${ns}`;
  const labels = Object.entries({ ...benchLabels(ns), 'kubernetes.io/metadata.name': name }).map(([k, v]) => `k8s:io.cilium.k8s.namespace.labels.${k}=${v}`);
  return {
    ID: 1000 + ns,
    identity: 30000 + ns,
    cluster_name: 'default',
    namespace: name,
    labels: [...labels, 'k8s:io.cilium.k8s.policy.cluster=default', 'k8s:io.cilium.k8s.policy.serviceaccount=default', `k8s:io.kubernetes.pod.namespace=${name}`, `k8s:app=${app}`].sort(),
    pod_name: `${app}-7c9f8d6b5-x2k4p`,
    workloads: [{ name: app, kind: 'Deployment' }],
  };
}

function flowLine(i: number): string {
  const dropped = i % 10 === 0;
  const ns = (i * 7919) % NAMESPACES;
  const peer = dropped ? (i / 10) % 300 : (i * 31) % NAMESPACES;
  const time = new Date(Date.UTC(2026, 10, 30, 10) + i).toISOString();
  const flow = {
    time,
    uuid: `0a1b2c3d-0000-4000-8000-${String(i).padStart(12, '0')}`,
    verdict: dropped ? 'DROPPED' : 'FORWARDED',
    ...(dropped ? { drop_reason: 133 } : {}),
    ethernet: { source: '92:34:10:65:b5:ee', destination: 'c2:3c:0f:7f:7d:73' },
    IP: { source: `10.244.${ns % 250}.${(i % 200) + 2}`, destination: dropped && i % 20 === 0 ? `203.0.113.${peer % 20}` : `10.244.${peer % 250}.7`, ipVersion: 'IPv4' },
    l4: { TCP: { source_port: 30000 + (i % 30000), destination_port: dropped ? (i % 20 === 0 ? 443 : 8080) : 5432, flags: { SYN: true } } },
    source: endpoint(dropped ? peer : ns, 'client'),
    // Half the drops go to the internet (a profile switch fixes those: the fix search runs), half to another namespace.
    destination: dropped && i % 20 === 0 ? { identity: 2, labels: ['reserved:world'] } : endpoint(dropped ? (peer + 1) % NAMESPACES : peer, 'server'),
    Type: 'L3_L4',
    node_name: 'kind-worker',
    event_type: dropped ? { type: 1, sub_type: 133 } : { type: 4, sub_type: 3 },
    traffic_direction: 'EGRESS',
    ...(dropped ? { drop_reason_desc: 'POLICY_DENIED', file: { name: 'bpf_lxc.c', line: 1361 } } : { trace_observation_point: 'TO_ENDPOINT', is_reply: false }),
    Summary: 'TCP Flags: SYN',
  };
  return `${JSON.stringify({ flow, node_name: 'kind-worker', time })}\n`;
}

try {
  const out = createWriteStream(file);
  for (let i = 0; i < LINES; i++) if (!out.write(flowLine(i))) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
  const bytes = statSync(file).size;
  rssSamples.length = 0;
  const baseRss = process.memoryUsage().rss;

  let start = process.hrtime.bigint();
  const read = await readDrops(createReadStream(file));
  const readSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  start = process.hrtime.bigint();
  const diagnoser = new Diagnoser({ catalog: defaultCatalog(), namespaces: benchNamespaces(NAMESPACES), config: makeRenderConfig(), otherPolicies: [] });
  const causes = new Map<string, number>();
  for (const group of read.groups) {
    const cause = diagnoser.diagnose(group.flow).cause;
    causes.set(cause, (causes.get(cause) ?? 0) + 1);
  }
  const explainSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  clearInterval(sampler);
  const half = Math.floor(rssSamples.length / 2);
  const mib = (v: number) => `${(v / 2 ** 20).toFixed(0)} MiB`;
  const max = (values: number[]) => values.reduce((a, b) => Math.max(a, b), 0);
  console.log(`bench/diagnose: ${read.lines.toLocaleString('en-US')} lines of hubble observe -o json (${(bytes / 2 ** 30).toFixed(2)} GiB), ${NAMESPACES} namespaces, default catalog, Node ${process.version}`);
  console.log(`  read and grouped: ${readSeconds.toFixed(2)} s = ${Math.round(read.flows / readSeconds).toLocaleString('en-US')} flows/s (${(bytes / 2 ** 20 / readSeconds).toFixed(0)} MiB/s)`);
  console.log(`  drops: ${read.groups.reduce((sum, g) => sum + g.dropEvents + g.verdictEvents, 0).toLocaleString('en-US')} in ${read.groups.length} groups; explained in ${explainSeconds.toFixed(2)} s (${[...causes].map(([c, n]) => `${n} ${c}`).join(', ')})`);
  console.log(`  RSS: before reading ${mib(baseRss)}, peak while reading ${mib(max(rssSamples))} (first half ${mib(max(rssSamples.slice(0, half)))}, second half ${mib(max(rssSamples.slice(half)))}), peak overall ${mib(peakRss)}`);
} finally {
  clearInterval(sampler);
  rmSync(dir, { recursive: true, force: true });
}
