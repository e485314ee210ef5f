// `netpol-profiles run`: the operator. Flags (and NETPOL_PROFILES_<FLAG> variables), Kubernetes
// configuration, HTTP endpoints, and a clean SIGTERM: stop taking work, finish in-flight writes,
// release the lease, exit 0 within 10 s.

import { LEASE_NAME } from '../config.js';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { HttpKubeApi } from '../kube/http-api.js';
import { createLogger, errorMessage, LOG_LEVELS, type LogLevel } from '../observability/logger.js';
import { OperatorMetrics } from '../observability/metrics.js';
import { serveHealth, serveMetrics, type RunningServer } from '../observability/http.js';
import { Operator } from '../operator.js';
import { formatHelp, parseBoolean, parseDuration, parseFlags, parseListenAddress, RENDER_CONFIG_FLAGS, renderConfigFromFlags, UsageError, type FlagSpecs } from './flags.js';
import type { CommandIO } from './io.js';
import { loadKubeConfig } from './kubeconfig.js';
import { packageVersion } from './version.js';

const RUN_FLAGS: FlagSpecs = {
  kubeconfig: { type: 'string', env: true, valueName: 'PATH', help: 'kubeconfig file (default: in-cluster config, then KUBECONFIG, then ~/.kube/config)' },
  'metrics-addr': { type: 'string', env: true, default: ':8080', valueName: 'ADDR', help: 'address of /metrics' },
  'health-addr': { type: 'string', env: true, default: ':8081', valueName: 'ADDR', help: 'address of /healthz and /readyz' },
  concurrency: { type: 'string', env: true, default: '4', valueName: 'N', help: 'namespaces reconciled at once' },
  'dry-run': { type: 'boolean', env: true, help: 'compute and log every change, write nothing (shadow mode)' },
  'log-level': { type: 'string', env: true, default: 'info', valueName: 'LEVEL', help: 'error, warn, info or debug' },
  'leader-elect': { type: 'string', env: true, default: 'true', valueName: 'BOOL', help: 'campaign for the Lease netpol-profiles (false: act as the only replica)' },
  'lease-duration': { type: 'string', env: true, default: '15s', valueName: 'DURATION', help: 'how long a lease is valid' },
  'renew-deadline': { type: 'string', env: true, default: '10s', valueName: 'DURATION', help: 'how long the leader retries renewing before it steps down' },
  'retry-period': { type: 'string', env: true, default: '2s', valueName: 'DURATION', help: 'how often to try to acquire or renew the lease' },
  'watch-stall-timeout': {
    type: 'string',
    env: true,
    default: '2m',
    valueName: 'DURATION',
    help: 'relist a resource when its watch delivers nothing, not even a bookmark, for this long (the API server sends one a minute)',
  },
  'resync-period': { type: 'string', env: true, default: '5m', valueName: 'DURATION', help: 'reconcile every key again this often, even without a change (0s: never)' },
  ...RENDER_CONFIG_FLAGS,
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export const RUN_HELP = formatHelp(
  'netpol-profiles run [flags]',
  'Runs the operator: keeps the cluster\'s generated Cilium policies equal to what namespace labels\n' +
    'and the catalog ask for. The operator namespace defaults to $POD_NAMESPACE when set.',
  RUN_FLAGS,
);

export interface RunSettings {
  values: Record<string, unknown>;
  kubeConfig: KubeConfig;
}

export async function runCommand(argv: readonly string[], io: CommandIO, stop: AbortSignal = shutdownSignal()): Promise<number> {
  const values = parseFlags(argv, RUN_FLAGS, { ...io.env, NETPOL_PROFILES_OPERATOR_NAMESPACE: io.env.NETPOL_PROFILES_OPERATOR_NAMESPACE ?? io.env.POD_NAMESPACE });
  if (values.help) {
    io.stdout(RUN_HELP);
    return 0;
  }
  const config = renderConfigFromFlags(values);
  const level = String(values['log-level']) as LogLevel;
  if (!LOG_LEVELS.includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new UsageError('--concurrency must be a whole number from 1 to 64');
  const metricsAddress = parseListenAddress(String(values['metrics-addr']));
  if (!metricsAddress) throw new UsageError(`--metrics-addr ${JSON.stringify(values['metrics-addr'])} is not HOST:PORT`);
  const healthAddress = parseListenAddress(String(values['health-addr']));
  if (!healthAddress) throw new UsageError(`--health-addr ${JSON.stringify(values['health-addr'])} is not HOST:PORT`);
  const leaderElect = parseBoolean('--leader-elect', String(values['leader-elect']), 'strict');
  const leaseDurationMs = parseDuration('lease-duration', String(values['lease-duration']));
  const renewDeadlineMs = parseDuration('renew-deadline', String(values['renew-deadline']));
  const retryPeriodMs = parseDuration('retry-period', String(values['retry-period']));
  if (!(retryPeriodMs < renewDeadlineMs && renewDeadlineMs < leaseDurationMs)) {
    throw new UsageError('leader election needs --retry-period < --renew-deadline < --lease-duration');
  }
  const stallTimeoutMs = parseDuration('watch-stall-timeout', String(values['watch-stall-timeout']));
  if (stallTimeoutMs < 1_000) throw new UsageError('--watch-stall-timeout must be at least 1s');
  const resyncPeriodMs = parseDuration('resync-period', String(values['resync-period']));
  if (resyncPeriodMs !== 0 && resyncPeriodMs < 10_000) throw new UsageError('--resync-period must be 0s (never) or at least 10s');
  const kubeConfig = loadKubeConfig({ path: values.kubeconfig as string | undefined, env: io.env, order: 'in-cluster-first' });
  const operatorNamespace = String(values['operator-namespace']);
  const identity = io.env.POD_NAME ?? `${hostname()}-${randomBytes(4).toString('hex')}`;

  const logger = createLogger(level);
  const version = packageVersion();
  const metrics = new OperatorMetrics(version);
  const api = new HttpKubeApi(kubeConfig, { userAgent: `netpol-profiles/${version}`, onWrite: (verb, kind) => metrics.countWrite(verb, kind) });
  let lostLeadership = false;
  const lost = new AbortController();
  const operator = new Operator({
    api,
    operatorNamespace,
    config,
    logger,
    metrics,
    concurrency,
    dryRun: values['dry-run'] === true,
    leaderElection: { enabled: leaderElect, namespace: operatorNamespace, name: LEASE_NAME, identity, leaseDurationMs, renewDeadlineMs, retryPeriodMs },
    cache: { stallTimeoutMs },
    resyncPeriodMs,
    onLostLeadership: () => {
      // Losing the lease while shutting down on SIGTERM is part of the shutdown, not a failure.
      if (stop.aborted) return;
      lostLeadership = true;
      lost.abort();
    },
  });

  const servers: RunningServer[] = [];
  try {
    servers.push(await serveMetrics(metrics.registry, metricsAddress));
    servers.push(await serveHealth(() => operator.isReady(), healthAddress));
  } catch (error) {
    await Promise.all(servers.map((server) => server.close()));
    throw new UsageError(`cannot listen: ${errorMessage(error)}`);
  }
  logger.info('starting', { metricsPort: servers[0]!.address.port, healthPort: servers[1]!.address.port, version, server: api.server, dryRun: values['dry-run'] === true, identity, operatorNamespace, labelDomain: config.keys.domain });

  const done = AbortSignal.any([stop, lost.signal]);
  try {
    await operator.start(done);
  } catch (error) {
    if (!done.aborted) logger.error('start failed', { error: errorMessage(error) });
  }
  if (!done.aborted) await new Promise((resolve) => done.addEventListener('abort', resolve, { once: true }));

  logger.info(lostLeadership ? 'shutting down: lost leadership' : 'shutting down');
  // SPEC: exit within 10 s of SIGTERM. In-flight writes get 5 s to finish before they are aborted,
  // the lease release 2 s (unanswered, the lease expires on its own); the rest is for closing up.
  await operator.stop(5_000, 2_000);
  await Promise.all(servers.map((server) => server.close()));
  logger.info('stopped');
  await new Promise<void>((resolve) => logger.on('finish', resolve).end());
  return lostLeadership ? 1 : 0;
}

/** Aborts on SIGTERM or SIGINT. */
function shutdownSignal(): AbortSignal {
  const controller = new AbortController();
  const abort = () => controller.abort();
  process.once('SIGTERM', abort);
  process.once('SIGINT', abort);
  return controller.signal;
}
