// `netpol-profiles status` (also `kubectl netpol-profiles status`): reads the cluster once, read-only,
// and reports what the operator would do about it (src/status/). Exit 0 when everything is in sync
// and enforced, 1 on findings, 2 on usage, configuration or API errors (one line, no stack trace).

import type { KubeConfig } from '@kubernetes/client-node';
import { isApiError, isNotFound, type KubeApi } from '../kube/api.js';
import { HttpKubeApi } from '../kube/http-api.js';
import type { Lease } from '../kube/leader.js';
import { RESOURCES, type ResourceRef } from '../kube/resources.js';
import type { KubeObject, Namespace } from '../kube/types.js';
import { errorMessage } from '../observability/logger.js';
import type { ObservedPolicy } from '../reconcile/diff.js';
import { STATE_CONFIGMAP_NAME, type ConfigMap } from '../reconcile/escape-hatch.js';
import { computeStatus, namespaceFilterProblem, statusExitCode, type ClusterSnapshot } from '../status/compute.js';
import { formatStatus, STATUS_FORMATS, type StatusFormat } from '../status/format.js';
import { LEASE_NAME } from '../status/leader.js';
import { CommandError, formatHelp, parseFlags, UsageError, type FlagSpecs } from './flags.js';
import type { CommandIO } from './io.js';
import { loadKubeConfig } from './kubeconfig.js';
import { RENDER_CONFIG_FLAGS, renderConfigFromFlags } from './render.js';
import { packageVersion } from './version.js';

const STATUS_FLAGS: FlagSpecs = {
  namespace: { type: 'string', short: 'n', valueName: 'NS', help: 'report only this namespace (and the findings from outside that apply to it)' },
  output: { type: 'string', short: 'o', default: 'table', valueName: 'table|json', help: 'output format' },
  kubeconfig: { type: 'string', env: true, valueName: 'PATH', help: 'kubeconfig file (default: KUBECONFIG, then ~/.kube/config, then in-cluster config)' },
  context: { type: 'string', env: true, valueName: 'NAME', help: 'kubeconfig context to use (default: its current context)' },
  ...RENDER_CONFIG_FLAGS,
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export const STATUS_HELP = formatHelp(
  'netpol-profiles status [-n NS] [-o table|json]',
  [
    'Reads the cluster (nothing is written) and reports, per namespace: profile, access, enforcement',
    'and since when, the generated policies desired vs present (in sync, missing, drifted, conflict,',
    'extra, kept), label errors, and foreign CiliumNetworkPolicies that widen the profile; then the',
    "cluster-wide policies, catalog problems and the operator's leader election Lease.",
    '',
    'With -n NS only NS is listed, with its own findings plus those that reach it from outside:',
    'cluster-wide policies, catalog problems of the profile and services its labels name, and a',
    'missing leader. Give the same --label-domain, --protected-namespaces and --operator-namespace',
    'as the operator, so status computes what it computes.',
    '',
    'Exit codes: 0 everything in sync and enforced; 1 findings; 2 usage, configuration or API error.',
    'Also runs as `kubectl netpol-profiles status ...`. See docs/status.md.',
  ].join('\n'),
  STATUS_FLAGS,
);

export interface StatusCommandOptions {
  /** The clock, read once after the cluster was read (tests pin it). */
  now?: () => number;
}

export async function statusCommand(argv: readonly string[], io: CommandIO, options: StatusCommandOptions = {}): Promise<number> {
  const values = parseFlags(argv, STATUS_FLAGS, io.env);
  if (values.help) {
    io.stdout(STATUS_HELP);
    return 0;
  }
  const format = values.output as StatusFormat;
  if (!STATUS_FORMATS.includes(format)) throw new UsageError(`--output must be table or json, not ${JSON.stringify(format)}`);
  const config = renderConfigFromFlags(values);
  const operatorNamespace = String(values['operator-namespace']);
  const namespace = values.namespace as string | undefined;

  const kubeConfig = loadKubeConfig({ path: values.kubeconfig as string | undefined, context: values.context as string | undefined, env: io.env, order: 'files-first' });
  const api = connect(kubeConfig);
  let snapshot: ClusterSnapshot;
  try {
    snapshot = await readCluster(api, operatorNamespace);
  } catch (error) {
    throw new CommandError(describeFailure(error, `the Kubernetes API at ${api.server}`), 2);
  } finally {
    api.close();
  }
  if (namespace !== undefined) {
    const problem = namespaceFilterProblem(snapshot, namespace);
    if (problem) throw new CommandError(problem, 2);
  }
  const report = computeStatus(snapshot, { config, operatorNamespace, namespace, nowMs: (options.now ?? Date.now)() });
  io.stdout(formatStatus(report, format));
  return statusExitCode(report);
}

function connect(kubeConfig: KubeConfig): HttpKubeApi {
  try {
    return new HttpKubeApi(kubeConfig, { userAgent: `netpol-profiles-status/${packageVersion()}` });
  } catch (error) {
    throw new CommandError(`cannot use the Kubernetes configuration: ${errorMessage(error).split('\n')[0]}`, 2);
  }
}

const PAGE_SIZE = 500;

async function listAll<T extends KubeObject>(api: KubeApi, resource: ResourceRef): Promise<T[]> {
  const items: T[] = [];
  let next: string | undefined;
  do {
    const page = await api.list<T>(resource, { limit: PAGE_SIZE, ...(next ? { continue: next } : {}) });
    items.push(...page.items);
    next = page.continue;
  } while (next);
  return items;
}

async function getIfExists<T extends KubeObject>(api: KubeApi, resource: ResourceRef, name: string, namespace: string): Promise<T | undefined> {
  try {
    return await api.get<T>(resource, name, namespace);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * Every namespace, not only `-n`'s: `access-<S>-ingress` in one namespace depends on the labels of
 * all the others, and the report must match what the operator computes.
 */
export async function readCluster(api: KubeApi, operatorNamespace: string): Promise<ClusterSnapshot> {
  const [namespaces, profiles, services, baselines, policies, clusterPolicies, stateConfigMap, lease] = await Promise.all([
    listAll<Namespace>(api, RESOURCES.namespaces),
    listAll<KubeObject>(api, RESOURCES.networkProfiles),
    listAll<KubeObject>(api, RESOURCES.sharedServices),
    listAll<KubeObject>(api, RESOURCES.networkBaselines),
    listAll<ObservedPolicy>(api, RESOURCES.ciliumNetworkPolicies),
    listAll<ObservedPolicy>(api, RESOURCES.ciliumClusterwideNetworkPolicies),
    getIfExists<ConfigMap>(api, RESOURCES.configMaps, STATE_CONFIGMAP_NAME, operatorNamespace),
    getIfExists<Lease>(api, RESOURCES.leases, LEASE_NAME, operatorNamespace),
  ]);
  return { namespaces, catalogObjects: [...profiles, ...services, ...baselines], policies, clusterPolicies, stateConfigMap, lease };
}

/** One line that says which server, what failed and, where it helps, what to do. */
function describeFailure(error: unknown, server: string): string {
  const message = errorMessage(error).split('\n')[0]!;
  if (!isApiError(error)) return `cannot read from ${server}: ${message}`;
  switch (error.reason) {
    case 'ConnectionError':
      return `cannot reach ${server}: ${message}`;
    case 'Unauthorized':
      return `${server} did not accept the credentials: ${message}`;
    case 'Forbidden':
      return `${server} denied access: ${message} (status needs read access to namespaces, the catalog, Cilium policies and the operator's ConfigMap and Lease; see docs/status.md)`;
    case 'NotFound': {
      // A list answered 404: the resource type is unknown to the cluster.
      const crds = /networkprofiles|sharedservices|networkbaselines/.test(message) ? "netpol-profiles' CRDs" : /cilium/.test(message) ? "Cilium's CRDs" : 'this resource';
      return `${server} does not serve a resource status needs (are ${crds} installed?): ${message}`;
    }
    default:
      return `${server} failed: ${message}`;
  }
}
