// The `netpol-profiles` command (also `kubectl netpol-profiles`): picks the command, turns usage
// errors (exit 2) and command errors (their own code) into one line, never a stack trace.

import { MAX_INPUT_BYTES, readBounded } from '../catalog/limits.js';
import { CommandError, UsageError } from './flags.js';
import type { CommandIO } from './io.js';
import { versionCommand } from './version.js';

type Command = (argv: readonly string[], io: CommandIO) => number | Promise<number>;

// Each command's module is loaded when it runs: `render` in CI should not pay for the Kubernetes
// client, the metrics library and the logger that only `run` and `status` use (about 0.6 s).
const COMMANDS: Record<string, { run: () => Promise<Command>; summary: string }> = {
  run: { run: async () => (await import('./run.js')).runCommand, summary: 'run the operator' },
  render: { run: async () => (await import('./render.js')).renderCommand, summary: 'print the policies for catalog and Namespace files (offline)' },
  status: { run: async () => (await import('./status.js')).statusCommand, summary: 'report what is in sync, enforced and wrong in the cluster (read-only)' },
  simulate: { run: async () => (await import('./simulate.js')).simulateCommand, summary: 'can A reach B on port P? decide flows under Cilium semantics, with reasons (offline or live)' },
  diagnose: { run: async () => (await import('./diagnose.js')).diagnoseCommand, summary: "explain Hubble's dropped flows and name the label change that fixes each" },
  version: { run: async () => versionCommand, summary: 'print the version' },
};

export const MAIN_HELP = [
  'Usage: netpol-profiles COMMAND [flags]',
  '',
  'Turns namespace labels into Cilium network policies.',
  '',
  'Commands:',
  ...Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(10)} ${command.summary}`),
  '',
  "Run 'netpol-profiles COMMAND --help' for a command's flags.",
  '',
].join('\n');

export async function main(argv: readonly string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? io.stderr : io.stdout)(MAIN_HELP);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') return versionCommand([], io);
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`netpol-profiles: unknown command ${JSON.stringify(name)}; commands: ${Object.keys(COMMANDS).join(', ')}\n`);
    return 2;
  }
  try {
    const run = await command.run();
    return await run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      // One line, as SPEC asks of every error; the hint rides along at its end.
      io.stderr(`netpol-profiles ${name}: ${oneLine(error.message)} (see 'netpol-profiles ${name} --help')\n`);
      return 2;
    }
    if (error instanceof CommandError) {
      io.stderr(`netpol-profiles ${name}: ${oneLine(error.message)}\n`);
      return error.exitCode;
    }
    io.stderr(`netpol-profiles ${name}: ${oneLine(error instanceof Error ? error.message : String(error))}\n`);
    // Anything unexpected: 1 for the operator (it failed), 2 for the commands whose 1 is a finding
    // (a denied flow, a drop, a status finding, an invalid input), so a crash never reads as one.
    return name === 'run' ? 1 : 2;
  }
}

function oneLine(message: string): string {
  return message.split('\n')[0]!.trim();
}

export const processIO: CommandIO = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readStdin: () => readBounded(0, MAX_INPUT_BYTES),
  openStdin: () => process.stdin,
  env: process.env,
  stdoutIsTerminal: process.stdout.isTTY === true,
};
