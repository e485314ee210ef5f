// `netpol-profiles version`: the version from package.json.

import { readFileSync } from 'node:fs';
import type { CommandIO } from './io.js';
import { parseFlags } from './flags.js';

export function packageVersion(): string {
  // dist/src/cli/version.js → the project root holds package.json, in the repository and the image.
  const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

export function versionCommand(argv: readonly string[], io: CommandIO): number {
  parseFlags(argv, {}, io.env);
  io.stdout(`netpol-profiles ${packageVersion()}\n`);
  return 0;
}
