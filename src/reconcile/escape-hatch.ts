// The durable escape-hatch record: when each namespace was first seen with enforcement=disabled,
// kept in the ConfigMap `netpol-profiles-state` in the operator's namespace so that restarts and
// leader changes neither reset nor delay the 24-hour alert. Pure: computes the next record from the
// current one and the namespaces' intents.

import { formatTime, parseRfc3339 } from '../kube/time.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../config.js';
import type { KubeObject } from '../kube/types.js';
import type { NamespaceIntent } from '../labels.js';

export const RECORD_CONFIGMAP_NAME = 'netpol-profiles-state';
/** Data key per namespace: `disabled-since.<namespace>` → RFC 3339 time (seconds precision). */
const KEY_PREFIX = 'disabled-since.';

export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

/** A record entry that could not be used as it is, and why. */
export interface RecordProblem {
  namespace: string;
  value: string;
  reason: 'Unparsable' | 'InFuture';
}

/**
 * The record as it can be trusted: namespace → Unix seconds first seen disabled. Entries that are
 * not RFC 3339 are left out, and times in the future (a clock far ahead, or an edit meant to keep the
 * 24-hour alert from ever firing) are taken as `nowSeconds`; both are listed in `problems`.
 */
export function readEscapeHatchRecord(configMap: ConfigMap | undefined, nowSeconds: number): { since: Map<string, number>; problems: RecordProblem[] } {
  const since = new Map<string, number>();
  const problems: RecordProblem[] = [];
  for (const [key, value] of Object.entries(configMap?.data ?? {})) {
    if (!key.startsWith(KEY_PREFIX)) continue;
    const namespace = key.slice(KEY_PREFIX.length);
    const seconds = typeof value === 'string' ? parseRfc3339(value) : undefined;
    if (seconds === undefined) problems.push({ namespace, value: String(value), reason: 'Unparsable' });
    else if (seconds > nowSeconds) problems.push({ namespace, value, reason: 'InFuture' });
    since.set(namespace, seconds === undefined ? Number.NaN : Math.min(seconds, nowSeconds));
  }
  for (const [namespace, seconds] of since) if (Number.isNaN(seconds)) since.delete(namespace);
  return { since, problems };
}

/** Namespace → Unix seconds it was first seen disabled, from the ConfigMap (see readEscapeHatchRecord). */
export function readDisabledSince(configMap: ConfigMap | undefined, nowSeconds = Math.floor(Date.now() / 1000)): Map<string, number> {
  return readEscapeHatchRecord(configMap, nowSeconds).since;
}

export function formatSince(seconds: number): string {
  return formatTime(new Date(seconds * 1000));
}

/**
 * What this process knows beyond the ConfigMap: namespaces it has seen disabled, and the last time
 * it trusted for each. A deleted or garbled record is restored from here instead of restamped, and
 * EnforcementRestored is only told to namespaces that were seen disabled. Bounded by the number of
 * namespaces disabled at once: entries go when the namespace is restored.
 */
export class EscapeHatchMemory {
  readonly seenDisabled = new Set<string>();
  readonly since = new Map<string, number>();

  /** Keeps the valid, not-future times of a record someone (us or another replica) wrote. */
  noteRecord(configMap: ConfigMap | undefined, nowSeconds: number): void {
    const { since } = readEscapeHatchRecord(configMap, nowSeconds);
    for (const [namespace, seconds] of since) {
      const known = this.since.get(namespace);
      if (known === undefined || seconds < known) this.since.set(namespace, seconds);
    }
  }

  forget(namespace: string): void {
    this.seenDisabled.delete(namespace);
    this.since.delete(namespace);
  }
}

export interface EscapeHatchChanges {
  /** The data the ConfigMap should hold. */
  data: Record<string, string>;
  /** Namespaces newly recorded as disabled, with their time. */
  disabled: Array<{ namespace: string; since: number }>;
  /** Namespaces whose record was cleared (enforcement restored or namespace gone), with how long it was off. */
  restored: Array<{ namespace: string; since: number }>;
  /** Cleared entries of namespaces never seen disabled (a key someone added): no EnforcementRestored for them. */
  dropped: string[];
  /** Entries refused as written, and the time recorded instead. */
  corrected: Array<RecordProblem & { since: number }>;
  changed: boolean;
}

/**
 * Keeps the recorded time of namespaces still disabled, records `nowSeconds` for newly disabled
 * ones, and clears the rest. Other data keys are left as they are. With `memory`, a time missing from
 * the record (the ConfigMap was deleted) or refused (unparsable, in the future) is taken from what
 * this process knew before it, and only namespaces it has seen disabled count as restored.
 */
export function nextEscapeHatchState(
  current: ConfigMap | undefined,
  intents: readonly NamespaceIntent[],
  nowSeconds: number,
  memory?: EscapeHatchMemory,
): EscapeHatchChanges {
  const { since: recorded, problems } = readEscapeHatchRecord(current, nowSeconds);
  const refused = new Map(problems.map((problem) => [problem.namespace, problem]));
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(current?.data ?? {})) if (!key.startsWith(KEY_PREFIX)) data[key] = value;
  const disabled: EscapeHatchChanges['disabled'] = [];
  const corrected: EscapeHatchChanges['corrected'] = [];
  const stillDisabled = new Set<string>();
  for (const intent of intents) {
    if (!intent.enforcementDisabled) continue;
    const namespace = intent.namespace;
    stillDisabled.add(namespace);
    const remembered = memory?.since.get(namespace);
    const problem = refused.get(namespace);
    let since = problem ? undefined : recorded.get(namespace);
    if (since === undefined && remembered !== undefined && remembered <= nowSeconds) since = remembered;
    if (problem) {
      since ??= problem.reason === 'InFuture' ? nowSeconds : undefined;
      corrected.push({ ...problem, since: since ?? nowSeconds });
    }
    if (since === undefined && !problem) disabled.push({ namespace, since: nowSeconds });
    since ??= nowSeconds;
    data[`${KEY_PREFIX}${namespace}`] = formatSince(since);
    memory?.seenDisabled.add(namespace);
    memory?.since.set(namespace, since);
  }
  const restored: EscapeHatchChanges['restored'] = [];
  const dropped: string[] = [];
  const keys = new Set(Object.keys(current?.data ?? {}).filter((key) => key.startsWith(KEY_PREFIX)).map((key) => key.slice(KEY_PREFIX.length)));
  for (const namespace of keys) {
    if (stillDisabled.has(namespace)) continue;
    const since = recorded.get(namespace) ?? memory?.since.get(namespace);
    if (since !== undefined && (!memory || memory.seenDisabled.has(namespace))) restored.push({ namespace, since });
    else dropped.push(namespace);
    memory?.forget(namespace);
  }
  if (memory) for (const namespace of [...memory.seenDisabled]) if (!stillDisabled.has(namespace)) memory.forget(namespace);
  const before = current?.data ?? {};
  const changed = current === undefined ? stillDisabled.size > 0 : Object.keys(before).length !== Object.keys(data).length || Object.entries(data).some(([key, value]) => before[key] !== value);
  return { data: Object.fromEntries(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : 1))), disabled, restored, dropped, corrected, changed };
}

export function recordConfigMap(namespace: string, data: Record<string, string>): ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: RECORD_CONFIGMAP_NAME, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } },
    data,
  };
}

/** "3h 12m", "2d 4h": how long the hatch was open, for the EnforcementRestored event. */
export function humanDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const days = Math.floor(s / 86_400);
  const hours = Math.floor((s % 86_400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${minutes}m`;
  if (minutes > 0) return `${minutes}m ${s % 60}s`;
  return `${s}s`;
}
