// Flag parsing shared by every command: Node's strict parseArgs, environment fallbacks
// (`NETPOL_PROFILES_<FLAG>`), and usage errors as one clear line (exit code 2).

import { parseArgs } from 'node:util';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * A failure the command has already put into one line for its user, with the exit code it means
 * (e.g. 2 for an unreachable cluster). Unlike UsageError it carries no "see --help" hint: the
 * flags were fine, the world was not.
 */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Read `NETPOL_PROFILES_<NAME>` when the flag is not given. */
  env?: boolean;
  default?: string;
  /** For `--help`. */
  help: string;
  valueName?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;
export type FlagValues = Record<string, string | boolean | string[] | undefined>;

export function envName(flag: string): string {
  return `NETPOL_PROFILES_${flag.toUpperCase().replace(/-/g, '_')}`;
}

export function parseFlags(argv: readonly string[], specs: FlagSpecs, env: NodeJS.ProcessEnv): FlagValues {
  return parseArguments(argv, specs, env, false).values;
}

/** Flags and the positional arguments between them (`simulate FROM TO PORT`). */
export function parseFlagsAndPositionals(argv: readonly string[], specs: FlagSpecs, env: NodeJS.ProcessEnv): { values: FlagValues; positionals: string[] } {
  return parseArguments(argv, specs, env, true);
}

function parseArguments(argv: readonly string[], specs: FlagSpecs, env: NodeJS.ProcessEnv, allowPositionals: boolean): { values: FlagValues; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = { type: spec.type, ...(spec.short ? { short: spec.short } : {}), ...(spec.multiple ? { multiple: true } : {}) };
  }
  let values: FlagValues;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], options, strict: true, allowPositionals }) as { values: FlagValues; positionals: string[] });
  } catch (error) {
    throw new UsageError(describeParseError(error, argv));
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (values[name] !== undefined) continue;
    const fromEnv = spec.env ? env[envName(name)] : undefined;
    if (fromEnv !== undefined) {
      values[name] = spec.type === 'boolean' ? parseBooleanEnv(envName(name), fromEnv) : fromEnv;
    } else if (spec.default !== undefined) {
      values[name] = spec.default;
    }
  }
  return { values, positionals };
}

function parseBooleanEnv(name: string, value: string): boolean {
  if (['true', '1', 'yes'].includes(value.toLowerCase())) return true;
  if (['false', '0', 'no', ''].includes(value.toLowerCase())) return false;
  throw new UsageError(`environment variable ${name}=${JSON.stringify(value)} is not a boolean (true or false)`);
}

function describeParseError(error: unknown, argv: readonly string[]): string {
  const code = (error as NodeJS.ErrnoException).code;
  const message = error instanceof Error ? error.message : String(error);
  const quoted = /'([^']+)'/.exec(message)?.[1];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown flag ${quoted ?? ''}`.trim();
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      // "Option '-o, --output <value>' argument missing" / "Option '--help' does not take an argument"
      const flag = /--[a-z-]+/.exec(message)?.[0] ?? 'a flag';
      return `flag ${flag} ${message.includes('does not take') ? 'does not take a value' : 'needs a value'}`;
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${JSON.stringify(quoted ?? argv.find((arg) => !arg.startsWith('-')) ?? '')}`;
    default:
      return message.split('\n')[0]!;
  }
}

/** A comma-separated list flag: trimmed, empty entries dropped. */
export function listFlag(value: string | boolean | string[] | undefined): string[] {
  if (typeof value !== 'string') return [];
  return value.split(',').map((item) => item.trim()).filter((item) => item !== '');
}

export function formatHelp(usage: string, summary: string, specs: FlagSpecs): string {
  const lines = [`Usage: ${usage}`, '', summary, '', 'Flags:'];
  for (const [name, spec] of Object.entries(specs)) {
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.type === 'string' ? ` ${spec.valueName ?? 'VALUE'}` : ''}`;
    const extras = [
      spec.default !== undefined ? `default ${JSON.stringify(spec.default)}` : '',
      spec.env ? `env ${envName(name)}` : '',
    ].filter(Boolean);
    lines.push(`  ${flag.padEnd(34)} ${spec.help}${extras.length ? ` (${extras.join('; ')})` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
