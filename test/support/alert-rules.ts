// Reads the project's Prometheus alert rules and makes time-compressed copies of them, so an
// end-to-end test with a real Prometheus (scraping every second) sees alerts fire in seconds.
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  interval?: string;
  rules: Rule[];
}

export interface RulesFile {
  groups: RuleGroup[];
}

/** dist/test/support/alert-rules.js → the repository root. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const RULES_PATH = join(PROJECT_ROOT, 'manifests', 'prometheus', 'rules.yaml');

/** The 24 h of NetworkPolicyEnforcementDisabledLong, written as a literal in its expression. */
const DAY_SECONDS_LITERAL = /\b86400\b/g;

export function loadAlertRules(path: string = RULES_PATH): RulesFile {
  return parse(readFileSync(path, 'utf8')) as RulesFile;
}

export interface ShortenOptions {
  /** Multiplies every `for:`, every range selector and the 24 h threshold, e.g. 1/3600. */
  factor: number;
  /**
   * Lower bound for range selectors after scaling: increase() needs at least two samples in its
   * window, so a window shorter than a few scrape intervals would never see an error. Default 5.
   */
  minRangeSeconds?: number;
}

/** A copy of `rules` with its durations scaled; `rules` is left as it is. */
export function shortenAlertRules(rules: RulesFile, options: ShortenOptions): RulesFile {
  const { factor } = options;
  if (!Number.isFinite(factor) || factor <= 0) throw new RangeError(`factor must be a positive number, got ${factor}`);
  const minRangeMs = (options.minRangeSeconds ?? 5) * 1000;
  let dayThresholds = 0;

  const groups = rules.groups.map((group) => ({
    ...group,
    rules: group.rules.map((rule) => {
      const copy: Rule = structuredClone(rule);
      if (copy.for !== undefined) copy.for = formatDuration(parseDuration(copy.for) * factor);
      copy.expr = copy.expr
        .replace(/\[((?:\d+(?:ms|[smhdwy]))+)\]/g, (_match, range: string) => {
          return `[${formatDuration(Math.max(minRangeMs, parseDuration(range) * factor))}]`;
        })
        .replace(DAY_SECONDS_LITERAL, () => {
          dayThresholds += 1;
          return String(Number((86400 * factor).toFixed(3)));
        });
      return copy;
    }),
  }));
  // Fails loudly if the rule is ever rewritten (say as 24 * 3600) instead of silently not scaling.
  if (dayThresholds === 0) throw new Error('no 86400 (24 h) threshold found in the rules to scale');
  return { groups };
}

const DURATION_UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

/** A Prometheus duration (`1h30m`, `500ms`) in milliseconds. */
export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+)(ms|[smhdwy])/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text) {
    throw new Error(`not a Prometheus duration: ${JSON.stringify(text)}`);
  }
  return parts.reduce((total, part) => total + Number(part[1]) * (DURATION_UNIT_MS[part[2] as string] as number), 0);
}

/** Milliseconds as a Prometheus duration; whole seconds as `Ns`, anything else as `Nms` (at least 1). */
export function formatDuration(ms: number): string {
  const rounded = Math.max(1, Math.round(ms));
  return rounded % 1000 === 0 ? `${rounded / 1000}s` : `${rounded}ms`;
}

/**
 * The path of a Prometheus tool (`promtool`, `prometheus`), or an error that says how to get it:
 * the alert tests must fail, not skip, on a machine without it (CI installs it through .ci/run).
 */
export function requirePrometheusTool(name: 'promtool' | 'prometheus'): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(
    `${name} is not on PATH, so the alert rules cannot be checked. Install it (Debian/Ubuntu: ` +
      "`apt-get install prometheus`, as .ci/run does) or put a Prometheus release's binaries on PATH.",
  );
}

export const requirePromtool = (): string => requirePrometheusTool('promtool');
