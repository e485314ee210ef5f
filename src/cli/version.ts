// `netpol-profiles version`: the version from package.json.

import { readFileSync } from 'node:fs';
import type { CommandIO } from './io.js';
import { formatHelp, parseFlags, type FlagSpecs } from './flags.js';

const VERSION_FLAGS: FlagSpecs = {
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export const VERSION_HELP = formatHelp('netpol-profiles version', 'Prints the version of this build.', VERSION_FLAGS);

export function packageVersion(): string {
  // dist/src/cli/version.js → the project root holds package.json, in the repository and the image.
  const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

export function versionCommand(argv: readonly string[], io: CommandIO): number {
  const values = parseFlags(argv, VERSION_FLAGS, io.env);
  if (values.help) {
    io.stdout(VERSION_HELP);
    return 0;
  }
  io.stdout(`netpol-profiles ${packageVersion()}\n`);
  return 0;
}
