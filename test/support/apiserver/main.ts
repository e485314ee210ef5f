// Standalone test API server (`npm run apiserver`): Cilium's and the project's CRDs loaded, admin
// endpoint on, kubeconfig path printed; runs until SIGINT/SIGTERM.
import { TestApiServer } from './server.js';

async function main(): Promise<void> {
  const port = process.env.APISERVER_PORT ? Number(process.env.APISERVER_PORT) : 0;
  const server = await TestApiServer.start({ adminEndpoint: true, port, rbac: process.env.APISERVER_RBAC === 'true' });
  process.stdout.write(`test API server listening on ${server.url}\n`);
  process.stdout.write(`kubeconfig: ${server.kubeconfigPath}\n`);
  process.stdout.write(`try: kubectl --kubeconfig ${server.kubeconfigPath} get ciliumnetworkpolicies -A\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping\n`);
    // Stopping closes every socket and timer, so the process ends on its own with this code.
    server.stop().then(
      () => {
        process.exitCode = 0;
      },
      (err: unknown) => {
        process.stderr.write(`test API server: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`test API server: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
