// `npm run sandbox`: the no-cluster way to try the operator. Starts the test API server with the
// CRDs, the default catalog and the example namespaces, runs two operator replicas against it as
// they run in a cluster (the real `netpol-profiles run`, leader election on, one leads and one
// stands by), writes their JSON logs to files, and prints a short how-to last. Ctrl-C stops it.
//
// `npm run sandbox -- --tour` walks through label → policy → typo → escape hatch → status in about
// a minute, printing each command and what it shows, then stops.

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TestApiServer } from '../test/support/apiserver/server.js';
import { CLI, DEFAULT_CATALOG_DIR, EXAMPLE_NAMESPACES, PROJECT_ROOT } from '../test/support/project.js';

const D = 'network-policy.homelab';
const SANDBOX_DIR = path.join(PROJECT_ROOT, '.sandbox');
const REPLICAS = 2;

interface Replica {
  name: string;
  child: ChildProcess;
  log: string;
  exited: Promise<number | null>;
}

function startReplica(server: TestApiServer, index: number): Replica {
  const name = `netpol-profiles-${index}`;
  const log = path.join(SANDBOX_DIR, `${name}.log`);
  const out = createWriteStream(log);
  const child = spawn(
    process.execPath,
    ['--max-semi-space-size=2', CLI, 'run', '--kubeconfig', server.kubeconfigPath, '--metrics-addr', '127.0.0.1:0', '--health-addr', '127.0.0.1:0'],
    { env: { PATH: process.env.PATH ?? '', POD_NAME: name, POD_NAMESPACE: 'netpol-profiles', NETPOL_PROFILES_LOG_LEVEL: process.env.NETPOL_PROFILES_LOG_LEVEL ?? 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { name, child, log, exited };
}

/** The holder of the operator's Lease, once a replica leads. */
async function waitForLeader(server: TestApiServer, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lease = server.get('coordination.k8s.io/v1', 'leases', 'netpol-profiles', 'netpol-profiles') as { spec?: { holderIdentity?: string } } | undefined;
    const holder = lease?.spec?.holderIdentity;
    if (holder) return holder;
    if (Date.now() > deadline) throw new Error('no operator replica became leader within 30 s; see the logs in .sandbox/');
    await sleep(200);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The metrics port a replica logged at start. */
function metricsPort(log: string): number | undefined {
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { message?: string; metricsPort?: number };
    if (entry.message === 'starting') return entry.metricsPort;
  }
  return undefined;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { tour: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write('Usage: npm run sandbox [-- --tour]\n\nThe operator (two replicas) against a test API server on 127.0.0.1, with a kubeconfig to try it.\n--tour walks through label, policy, typo, escape hatch and status, then stops.\n');
    return;
  }
  mkdirSync(SANDBOX_DIR, { recursive: true });
  const server = await TestApiServer.start({ adminEndpoint: true });
  server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'netpol-profiles' } });
  server.applyManifests([
    ...readdirSync(DEFAULT_CATALOG_DIR)
      .filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml')
      .map((file) => path.join(DEFAULT_CATALOG_DIR, file)),
    EXAMPLE_NAMESPACES,
  ]);
  // A stable path to point KUBECONFIG at, whatever temporary file the server wrote.
  const kubeconfig = path.join(SANDBOX_DIR, 'kubeconfig');
  writeFileSync(kubeconfig, readFileSync(server.kubeconfigPath));

  const replicas = Array.from({ length: REPLICAS }, (_, index) => startReplica(server, index));
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const replica of replicas) replica.child.kill('SIGTERM');
    await Promise.all(replicas.map((replica) => replica.exited));
    await server.stop();
    process.exit(code);
  };
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));
  for (const replica of replicas) {
    void replica.exited.then((code) => {
      if (!stopping) process.stderr.write(`sandbox: ${replica.name} exited (${code}); its log: ${replica.log}\n`);
    });
  }
  const leader = await waitForLeader(server);

  if (values.tour) {
    const ok = await tour(kubeconfig);
    await stop(ok ? 0 : 1);
    return;
  }

  const ports = replicas.map((replica) => `${replica.name} :${metricsPort(replica.log) ?? '?'}`).join(', ');
  process.stdout.write(
    [
      '',
      `sandbox: test API server ${server.url}; ${REPLICAS} operator replicas, ${leader} leads`,
      `  logs:    ${replicas.map((replica) => path.relative(process.cwd(), replica.log)).join(', ')}`,
      `  metrics: ${ports} (/metrics on 127.0.0.1)`,
      '',
      'In another shell:',
      `  export KUBECONFIG=${kubeconfig}`,
      '  kubectl get cnp -A                      # the generated policies',
      `  kubectl label ns blog ${D}/profile=standard --overwrite`,
      `  node ${path.relative(process.cwd(), CLI)} status   # what is in sync, and what to fix`,
      'Or: npm run sandbox -- --tour. Ctrl-C stops it.',
      '',
    ].join('\n'),
  );
}

/** A command, run asynchronously: the test API server lives in this process and must keep answering. */
function run(command: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command[0]!, command.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', (error) => resolve({ code: null, output: error.message }));
    child.once('close', (code) => resolve({ code, output }));
  });
}

/** Runs one step of the tour: prints the command and what it shows. */
async function show(title: string, command: string[], env: NodeJS.ProcessEnv, pick?: (output: string) => string): Promise<string> {
  const [program, ...args] = command;
  const shown = program === process.execPath ? ['netpol-profiles', ...args.slice(1)].join(' ') : command.join(' ');
  const output = (await run(command, env)).output.trimEnd();
  const lines = (pick ? pick(output) : output).split('\n').filter((line) => line !== '');
  process.stdout.write(`\n$ ${shown}\n${lines.map((line) => `  ${line}`).join('\n')}${lines.length > 0 ? '\n' : ''}`);
  if (title) process.stdout.write(`  → ${title}\n`);
  return output;
}

async function until(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(250);
  }
  return false;
}

async function tour(kubeconfig: string): Promise<boolean> {
  const env = { PATH: process.env.PATH ?? '', KUBECONFIG: kubeconfig, HOME: SANDBOX_DIR };
  const kubectl = (...args: string[]) => ['kubectl', ...args];
  const cli = (...args: string[]) => [process.execPath, CLI, ...args];
  const quiet = async (command: string[]) => (await run(command, env)).output;
  const cnps = (namespace: string) => quiet(kubectl('get', 'cnp', '-n', namespace, '-o', 'name'));
  const hasEvent = async (reason: string) => (await quiet(kubectl('get', 'events', '-n', 'tour', '--field-selector', `reason=${reason}`, '-o', 'name'))).trim() !== '';
  let ok = true;
  const expect = (condition: boolean, what: string) => {
    if (!condition) {
      ok = false;
      process.stdout.write(`  ✗ expected: ${what}\n`);
    }
  };
  process.stdout.write(`\nThe tour: a label gives a namespace its policies, a typo changes nothing, the escape hatch opens it, status says what to fix.\n(KUBECONFIG=${kubeconfig})\n`);

  await show('', kubectl('create', 'namespace', 'tour'), env);
  await show('a namespace asks for a profile and a shared service with labels', kubectl('label', 'namespace', 'tour', `${D}/profile=standard`, `access.${D}/postgres=true`), env);
  expect(await until(async () => /profile-standard[\s\S]*access-postgres|access-postgres[\s\S]*profile-standard/.test(await cnps('tour'))), 'profile-standard and access-postgres in tour');
  await show('the operator generated their policies', kubectl('get', 'cnp', '-n', 'tour'), env);
  await show('and tour can reach postgres, decided the way Cilium decides', cli('simulate', '--kubeconfig', kubeconfig, 'tour', 'database/app=postgres', '5432'), env);

  await show('', kubectl('label', 'namespace', 'tour', `${D}/profile=standrad`, '--overwrite'), env);
  expect(await until(() => hasEvent('UnknownProfile')), 'an UnknownProfile event in tour');
  await show('a typo in the value: a Warning event', kubectl('get', 'events', '-n', 'tour', '--field-selector', 'reason=UnknownProfile'), env);
  expect((await cnps('tour')).includes('profile-standard'), 'profile-standard kept');
  await show('and the policies applied before are kept: a typo never opens or closes traffic', kubectl('get', 'cnp', '-n', 'tour'), env);
  const file = path.join(SANDBOX_DIR, 'tour-namespace.yaml');
  writeFileSync(file, `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: tour\n  labels:\n    ${D}/profiel: standard\n`);
  await show('a typo in the key would be ignored by the operator; render in CI catches it before it merges', cli('render', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', file), env, (output) =>
    output.split('\n').filter((line) => line.includes('UnknownLabelKey') || line.startsWith('render:')).join('\n'),
  );
  await show('', kubectl('label', 'namespace', 'tour', `${D}/profile=standard`, '--overwrite'), env);

  await show('', kubectl('label', 'namespace', 'tour', `${D}/enforcement=disabled`), env);
  expect(await until(() => hasEvent('EnforcementDisabled')), 'an EnforcementDisabled event in tour');
  await show('the escape hatch: all traffic allowed, recorded, alerted on after 5 minutes', kubectl('get', 'events', '-n', 'tour', '--field-selector', 'reason=EnforcementDisabled'), env);
  const status = await show('status: what is wrong, and the fix for each', cli('status', '-n', 'tour'), env);
  expect(status.includes('enforcement disabled since') && status.includes('fix: '), 'status names the escape hatch and its fix');
  await show('', kubectl('label', 'namespace', 'tour', `${D}/enforcement-`), env);
  expect(await until(async () => (await run(cli('status', '-n', 'tour'), env)).code === 0), 'status -n tour exits 0 again');
  await show('closed again: status exits 0', cli('status', '-n', 'tour'), env);
  process.stdout.write(`\n${ok ? 'Tour done.' : 'Tour done, with the problems above.'} The operator replicas' logs: ${path.relative(process.cwd(), SANDBOX_DIR)}/netpol-profiles-*.log\n`);
  return ok;
}

main().catch((error: unknown) => {
  process.stderr.write(`sandbox: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
