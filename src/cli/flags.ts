// Flag parsing for every command, in one place: Node's strict parseArgs, environment fallbacks
// (`NETPOL_PROFILES_<FLAG>`), the parsers of flag values (booleans, durations, listen addresses,
// the render configuration) and usage errors as one clear line (exit code 2).

import { parseArgs } from 'node:util';
import { DEFAULT_LABEL_DOMAIN, DEFAULT_OPERATOR_NAMESPACE, DEFAULT_PROTECTED_NAMESPACES, labelDomainProblem, makeRenderConfig, type RenderConfig } from '../config.js';
import type { ListenAddress } from '../observability/http.js';

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
      values[name] = spec.type === 'boolean' ? parseBoolean(`environment variable ${envName(name)}`, fromEnv) : fromEnv;
    } else if (spec.default !== undefined) {
      values[name] = spec.default;
    }
  }
  return { values, positionals };
}

/**
 * A boolean flag value or environment variable; `what` names it in the error. Lenient (for
 * NETPOL_PROFILES_<FLAG> of boolean flags): `true`, `1`, `yes` / `false`, `0`, `no`, empty, any
 * case. Strict (for a setting whose misreading is dangerous, like `--leader-elect`): `true` or
 * `false` only, so an empty or mistyped value stops the process instead of turning something off.
 */
export function parseBoolean(what: string, value: string, spelling: 'lenient' | 'strict' = 'lenient'): boolean {
  const [yes, no] = spelling === 'strict' ? [['true'], ['false']] : [['true', '1', 'yes'], ['false', '0', 'no', '']];
  const given = spelling === 'strict' ? value : value.toLowerCase();
  if (yes.includes(given)) return true;
  if (no.includes(given)) return false;
  if (spelling === 'strict') throw new UsageError(`${what} must be true or false, not ${JSON.stringify(value)}`);
  throw new UsageError(`${what}=${JSON.stringify(value)} is not a boolean (true or false)`);
}

/** `500ms`, `15s`, `1m`, `2h` → milliseconds. */
export function parseDuration(flag: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value);
  if (!match) throw new UsageError(`--${flag} ${JSON.stringify(value)} is not a duration (e.g. 500ms, 15s, 1m)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(match[1]) * unit;
}

/** `:8080` (every address), `0.0.0.0:8080`, `127.0.0.1:0`, `[::1]:8080` → host and port. */
export function parseListenAddress(value: string): ListenAddress | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  return { host: match[1] ?? (match[2] === '' ? undefined : match[2]!), port };
}

/** Flags that shape rendering: every command that renders (`render`, `run`, `status`, `simulate`, `diagnose`) takes them. */
export const RENDER_CONFIG_FLAGS: FlagSpecs = {
  'label-domain': { type: 'string', env: true, default: DEFAULT_LABEL_DOMAIN, valueName: 'DOMAIN', help: 'domain of the namespace labels' },
  'protected-namespaces': {
    type: 'string',
    env: true,
    default: DEFAULT_PROTECTED_NAMESPACES.join(','),
    valueName: 'NS,...',
    help: 'namespaces that never get profile or access policies (the operator namespace is always added)',
  },
  'operator-namespace': {
    type: 'string',
    env: true,
    default: DEFAULT_OPERATOR_NAMESPACE,
    valueName: 'NS',
    help: "the operator's own namespace (protected)",
  },
};

export function renderConfigFromFlags(values: Record<string, unknown>): RenderConfig {
  const labelDomain = String(values['label-domain']);
  const problem = labelDomainProblem(labelDomain);
  if (problem) throw new UsageError(`--label-domain: ${problem}`);
  return makeRenderConfig({
    labelDomain,
    protectedNamespaces: listFlag(values['protected-namespaces'] as string),
    operatorNamespace: String(values['operator-namespace']),
  });
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
