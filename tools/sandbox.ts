// `npm run sandbox`: the no-cluster way to try the operator. Starts the test API server with the
// CRDs, the default catalog and the example namespaces, runs the operator against it, and prints a
// kubeconfig so you can `kubectl label` a namespace and watch policies appear. Ctrl-C stops it.

import { readdirSync } from 'node:fs';
import path from 'node:path';
import { makeRenderConfig } from '../src/config.js';
import { HttpKubeApi } from '../src/kube/http-api.js';
import { createLogger } from '../src/observability/logger.js';
import { OperatorMetrics } from '../src/observability/metrics.js';
import { serveMetrics } from '../src/observability/http.js';
import { Operator } from '../src/operator.js';
import { TestApiServer } from '../test/support/apiserver/server.js';
import { DEFAULT_CATALOG_DIR, EXAMPLE_NAMESPACES } from '../test/support/project.js';

async function main(): Promise<void> {
  const server = await TestApiServer.start({ adminEndpoint: true });
  server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'netpol-profiles' } });
  server.applyManifests([
    ...readdirSync(DEFAULT_CATALOG_DIR)
      .filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml')
      .map((file) => path.join(DEFAULT_CATALOG_DIR, file)),
    EXAMPLE_NAMESPACES,
  ]);
  const metrics = new OperatorMetrics('sandbox');
  const operator = new Operator({
    operatorNamespace: 'netpol-profiles',
    api: new HttpKubeApi(server.kubeConfig(), { onWrite: (verb, kind) => metrics.countWrite(verb, kind) }),
    config: makeRenderConfig(),
    logger: createLogger((process.env.NETPOL_PROFILES_LOG_LEVEL as 'info' | undefined) ?? 'info'),
    metrics,
    concurrency: 4,
    dryRun: false,
    leaderElection: { enabled: false, namespace: 'netpol-profiles', name: 'netpol-profiles', identity: 'sandbox', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
  });
  await operator.start();
  const metricsServer = await serveMetrics(metrics.registry, { host: '127.0.0.1', port: 0 });
  const kc = `--kubeconfig ${server.kubeconfigPath}`;
  process.stderr.write(
    [
      '',
      `sandbox: test API server ${server.url}, operator running, metrics on http://127.0.0.1:${metricsServer.address.port}/metrics`,
      `  export KUBECONFIG=${server.kubeconfigPath}`,
      `  kubectl ${kc} get cnp -A`,
      `  kubectl ${kc} label ns blog network-policy.homelab/profile=standard --overwrite`,
      `  kubectl ${kc} get networkprofiles`,
      `  kubectl ${kc} get events -n blog`,
      'Ctrl-C stops it.',
      '',
    ].join('\n'),
  );
  const stop = async () => {
    await operator.stop(2_000);
    await metricsServer.close();
    await server.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`sandbox: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
