// What `simulate` reads besides the catalog and Namespaces: policies that exist besides ours
// (CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy, NetworkPolicy) and pods (Pods, or the pod
// templates of Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs), checked so
// that a policy the engine would misread is refused with one clear problem instead.

import type { InputProblem, SourcedObject } from '../catalog/load.js';
import { ciliumSchemaProblems } from '../catalog/cilium-schema.js';
import { isDnsLabel, isLabelKey, isLabelValue, quoteValue } from '../kube/names.js';
import { isRecord, type KubeObject, objectKey } from '../kube/types.js';
import { POLICY_KINDS, type PolicyKindName } from '../engine/compile.js';
import { PROTOCOLS, type ContainerPort, type Protocol } from '../engine/identity.js';

/** A pod from --pods: a Pod, or a workload's pod template. */
export interface PodInput {
  source: string;
  namespace: string;
  /** The Pod's or the workload's name. */
  name: string;
  labels: Record<string, string>;
  serviceAccount: string | undefined;
  ports: ContainerPort[];
}

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob'] as const;

function subjectOf(doc: SourcedObject): string {
  const name = doc.object.metadata?.name;
  return typeof name === 'string' && name !== '' ? `${doc.object.kind}/${name}` : `document ${doc.document}`;
}

function kindProblem(doc: SourcedObject, expected: string): InputProblem {
  const kind = doc.object.kind;
  const shown = typeof kind === 'string' && kind !== '' ? `a ${kind}` : 'an object without a kind';
  return { source: doc.source, subject: subjectOf(doc), message: `is ${shown}; expected ${expected}` };
}

/** Policies given with --policies: the three policy kinds, each checked against its schema. */
export function readPolicies(documents: readonly SourcedObject[]): { policies: KubeObject[]; problems: InputProblem[] } {
  const policies: KubeObject[] = [];
  const problems: InputProblem[] = [];
  const seen = new Map<string, string>();
  for (const doc of documents) {
    const kind = doc.object.kind as PolicyKindName;
    if (!POLICY_KINDS.includes(kind)) {
      problems.push(kindProblem(doc, `a ${POLICY_KINDS.join(', a ')}`));
      continue;
    }
    const found = policyProblems(doc.object);
    for (const message of found) problems.push({ source: doc.source, subject: subjectOf(doc), message });
    if (found.length > 0) continue;
    const key = objectKey(doc.object);
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      problems.push({ source: doc.source, subject: subjectOf(doc), message: `is defined twice (also in ${earlier})` });
      continue;
    }
    seen.set(key, doc.source);
    policies.push(doc.object);
  }
  return { policies, problems };
}

/** Why the engine cannot read this policy object, or nothing. */
export function policyProblems(object: KubeObject): string[] {
  const problems: string[] = [];
  const name = object.metadata?.name;
  if (typeof name !== 'string' || name === '') problems.push('has no metadata.name');
  const namespaced = object.kind !== 'CiliumClusterwideNetworkPolicy';
  const namespace = object.metadata?.namespace;
  if (namespaced && (typeof namespace !== 'string' || !isDnsLabel(namespace))) {
    problems.push(`needs metadata.namespace (a ${object.kind} applies in its namespace)`);
  }
  if (object.kind === 'NetworkPolicy') {
    if (object.apiVersion !== 'networking.k8s.io/v1') problems.push(`apiVersion must be networking.k8s.io/v1, not ${quoteValue(String(object.apiVersion ?? ''))}`);
    problems.push(...networkPolicyProblems(object.spec));
    return problems;
  }
  if (object.apiVersion !== 'cilium.io/v2') problems.push(`apiVersion must be cilium.io/v2, not ${quoteValue(String(object.apiVersion ?? ''))}`);
  const specs = [
    ...(object.spec !== undefined ? [{ at: 'spec', spec: object.spec }] : []),
    ...(Array.isArray(object.specs) ? object.specs.map((spec, i) => ({ at: `specs[${i}]`, spec })) : []),
  ];
  if (specs.length === 0) problems.push('has neither spec nor specs');
  for (const { at, spec } of specs) {
    if (!isRecord(spec)) {
      problems.push(`${at} must be an object`);
      continue;
    }
    for (const problem of ciliumSchemaProblems('clusterwideSpec', spec)) problems.push(`${at}.${problem}`);
    if (spec.endpointSelector === undefined && spec.nodeSelector === undefined) problems.push(`${at} needs an endpointSelector (or a nodeSelector)`);
  }
  return problems;
}

// The fields the engine reads, checked for type; the API server would refuse the rest.
function networkPolicyProblems(spec: unknown): string[] {
  if (!isRecord(spec)) return ['spec must be an object'];
  const problems: string[] = [];
  if (!isRecord(spec.podSelector)) problems.push('spec.podSelector is required ({} selects every pod of the namespace)');
  if (spec.policyTypes !== undefined) {
    if (!Array.isArray(spec.policyTypes) || spec.policyTypes.some((t) => t !== 'Ingress' && t !== 'Egress')) {
      problems.push('spec.policyTypes must list Ingress and/or Egress');
    }
  }
  for (const direction of ['ingress', 'egress'] as const) {
    const rules = spec[direction];
    if (rules === undefined || rules === null) continue;
    if (!Array.isArray(rules)) {
      problems.push(`spec.${direction} must be a list of rules`);
      continue;
    }
    rules.forEach((rule, i) => {
      const at = `spec.${direction}[${i}]`;
      if (!isRecord(rule)) {
        problems.push(`${at} must be an object`);
        return;
      }
      const peers = rule[direction === 'ingress' ? 'from' : 'to'];
      if (peers !== undefined && !Array.isArray(peers)) problems.push(`${at}.${direction === 'ingress' ? 'from' : 'to'} must be a list`);
      if (Array.isArray(peers)) {
        peers.forEach((peer, j) => {
          if (!isRecord(peer) || (peer.ipBlock === undefined && peer.podSelector === undefined && peer.namespaceSelector === undefined)) {
            problems.push(`${at} peer ${j} must have podSelector, namespaceSelector or ipBlock`);
          } else if (peer.ipBlock !== undefined && (peer.podSelector !== undefined || peer.namespaceSelector !== undefined)) {
            problems.push(`${at} peer ${j}: ipBlock cannot be combined with a selector`);
          }
        });
      }
      if (rule.ports !== undefined && !Array.isArray(rule.ports)) problems.push(`${at}.ports must be a list`);
    });
  }
  return problems;
}

function podTemplateOf(object: KubeObject): { metadata: unknown; spec: unknown } | undefined {
  if (object.kind === 'Pod') return { metadata: object.metadata, spec: object.spec };
  const spec = isRecord(object.spec) ? object.spec : {};
  const template = object.kind === 'CronJob' ? (isRecord(spec.jobTemplate) && isRecord(spec.jobTemplate.spec) ? spec.jobTemplate.spec.template : undefined) : spec.template;
  return isRecord(template) ? { metadata: template.metadata, spec: template.spec } : undefined;
}

/** Pods given with --pods: Pods, and the pod templates of workloads. */
export function readPods(documents: readonly SourcedObject[]): { pods: PodInput[]; problems: InputProblem[] } {
  const pods: PodInput[] = [];
  const problems: InputProblem[] = [];
  const seen = new Set<string>();
  for (const doc of documents) {
    const kind = doc.object.kind;
    if (kind !== 'Pod' && !WORKLOAD_KINDS.includes(kind as (typeof WORKLOAD_KINDS)[number])) {
      problems.push(kindProblem(doc, `a Pod or a workload (${WORKLOAD_KINDS.join(', ')})`));
      continue;
    }
    const subject = subjectOf(doc);
    const before = problems.length;
    const add = (message: string) => problems.push({ source: doc.source, subject, message });
    const name = doc.object.metadata?.name;
    const namespace = doc.object.metadata?.namespace;
    if (typeof name !== 'string' || name === '') add('has no metadata.name');
    if (typeof namespace !== 'string' || !isDnsLabel(namespace)) add('needs metadata.namespace');
    const template = podTemplateOf(doc.object);
    if (!template) {
      add(`has no pod template (spec${kind === 'CronJob' ? '.jobTemplate.spec' : ''}.template)`);
      continue;
    }
    const metadata = isRecord(template.metadata) ? template.metadata : {};
    const labels: Record<string, string> = {};
    if (metadata.labels !== undefined) {
      if (!isRecord(metadata.labels)) add('pod labels must be a map of strings');
      else {
        for (const [key, value] of Object.entries(metadata.labels)) {
          if (!isLabelKey(key) || typeof value !== 'string' || !isLabelValue(value)) add(`pod label ${quoteValue(key)}: ${quoteValue(String(value))} is not a valid label`);
          else labels[key] = value;
        }
      }
    }
    const spec = isRecord(template.spec) ? template.spec : {};
    const ports: ContainerPort[] = [];
    const containers = Array.isArray(spec.containers) ? spec.containers : [];
    for (const container of containers) {
      if (!isRecord(container) || !Array.isArray(container.ports)) continue;
      for (const port of container.ports) {
        if (!isRecord(port)) continue;
        const number = port.containerPort;
        const protocol = String(port.protocol ?? 'TCP') as Protocol;
        if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > 65535 || !PROTOCOLS.includes(protocol)) {
          add(`container port ${quoteValue(JSON.stringify(port))} is not a port number (1-65535) with protocol TCP, UDP or SCTP`);
          continue;
        }
        ports.push(typeof port.name === 'string' ? { name: port.name, port: number, protocol } : { port: number, protocol });
      }
    }
    if (problems.length > before) continue;
    const key = `${namespace}/${name}`;
    if (seen.has(key)) {
      add(`is defined twice (a pod or workload named ${quoteValue(String(name))} in ${namespace})`);
      continue;
    }
    seen.add(key);
    const serviceAccount = typeof spec.serviceAccountName === 'string' ? spec.serviceAccountName : undefined;
    pods.push({ source: doc.source, namespace: namespace as string, name: name as string, labels, serviceAccount, ports });
  }
  return { pods, problems };
}
