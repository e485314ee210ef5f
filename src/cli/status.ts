// `netpol-profiles status` (also `kubectl netpol-profiles status`): reads the cluster once, read-only,
// and reports what the operator would do about it (src/status/). Exit 0 when everything is in sync
// and enforced, 1 on findings, 2 on usage, configuration or API errors (one line, no stack trace).

import { LEASE_NAME } from '../config.js';
import type { KubeApi } from '../kube/api.js';
import type { Lease } from '../kube/leader.js';
import { RESOURCES } from '../kube/resources.js';
import { RECORD_CONFIGMAP_NAME, type ConfigMap } from '../reconcile/escape-hatch.js';
import { computeStatus, namespaceFilterProblem, statusExitCode, type ClusterSnapshot } from '../status/compute.js';
import { formatStatus, STATUS_FORMATS, type StatusFormat } from '../status/format.js';
import { connect, describeFailure, getIfExists, readPolicyWorld } from './cluster.js';
import { CommandError, type FlagSpecs, formatHelp, parseFlags, RENDER_CONFIG_FLAGS, renderConfigFromFlags, UsageError } from './flags.js';
import type { CommandIO } from './io.js';
import { loadKubeConfig } from './kubeconfig.js';

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
  const api = connect(kubeConfig, 'status');
  let snapshot: ClusterSnapshot;
  try {
    snapshot = await readCluster(api, operatorNamespace);
  } catch (error) {
    throw new CommandError(
      describeFailure(error, `the Kubernetes API at ${api.server}`, 'status', "namespaces, the catalog, Cilium policies and the operator's ConfigMap and Lease; see docs/status.md"),
      2,
    );
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

/**
 * Every namespace, not only `-n`'s: `access-<S>-ingress` in one namespace depends on the labels of
 * all the others, and the report must match what the operator computes.
 */
export async function readCluster(api: KubeApi, operatorNamespace: string): Promise<ClusterSnapshot> {
  const [world, escapeHatchRecord, lease] = await Promise.all([
    readPolicyWorld(api),
    getIfExists<ConfigMap>(api, RESOURCES.configMaps, RECORD_CONFIGMAP_NAME, operatorNamespace),
    getIfExists<Lease>(api, RESOURCES.leases, LEASE_NAME, operatorNamespace),
  ]);
  return { ...world, escapeHatchRecord, lease };
}
