// The durable escape-hatch record: when each namespace was first seen with enforcement=disabled,
// kept in the ConfigMap `netpol-profiles-state` in the operator's namespace so that restarts and
// leader changes neither reset nor delay the 24-hour alert. Pure: computes the next record from the
// current one and the namespaces' intents.

import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../config.js';
import type { KubeObject } from '../kube/types.js';
import type { NamespaceIntent } from '../labels.js';

export const STATE_CONFIGMAP_NAME = 'netpol-profiles-state';
/** Data key per namespace: `disabled-since.<namespace>` → RFC 3339 time (seconds precision). */
const KEY_PREFIX = 'disabled-since.';

export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

/** Namespace → Unix seconds it was first seen disabled, from the ConfigMap (unreadable entries are skipped). */
export function readDisabledSince(configMap: ConfigMap | undefined): Map<string, number> {
  const since = new Map<string, number>();
  for (const [key, value] of Object.entries(configMap?.data ?? {})) {
    if (!key.startsWith(KEY_PREFIX)) continue;
    const millis = Date.parse(value);
    if (Number.isFinite(millis)) since.set(key.slice(KEY_PREFIX.length), Math.floor(millis / 1000));
  }
  return since;
}

export function formatSince(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface EscapeHatchChanges {
  /** The data the ConfigMap should hold. */
  data: Record<string, string>;
  /** Namespaces newly recorded as disabled, with their time. */
  disabled: Array<{ namespace: string; since: number }>;
  /** Namespaces whose record was cleared (enforcement restored or namespace gone), with how long it was off. */
  restored: Array<{ namespace: string; since: number }>;
  changed: boolean;
}

/**
 * Keeps the recorded time of namespaces still disabled, records `nowSeconds` for newly disabled
 * ones, and clears the rest. Other data keys are left as they are.
 */
export function nextEscapeHatchState(current: ConfigMap | undefined, intents: readonly NamespaceIntent[], nowSeconds: number): EscapeHatchChanges {
  const recorded = readDisabledSince(current);
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(current?.data ?? {})) if (!key.startsWith(KEY_PREFIX)) data[key] = value;
  const disabled: EscapeHatchChanges['disabled'] = [];
  const stillDisabled = new Set<string>();
  for (const intent of intents) {
    if (!intent.enforcementDisabled) continue;
    stillDisabled.add(intent.namespace);
    const since = recorded.get(intent.namespace);
    if (since === undefined) disabled.push({ namespace: intent.namespace, since: nowSeconds });
    data[`${KEY_PREFIX}${intent.namespace}`] = formatSince(since ?? nowSeconds);
  }
  const restored = [...recorded].filter(([namespace]) => !stillDisabled.has(namespace)).map(([namespace, since]) => ({ namespace, since }));
  const before = current?.data ?? {};
  const changed = current === undefined ? stillDisabled.size > 0 : Object.keys(before).length !== Object.keys(data).length || Object.entries(data).some(([key, value]) => before[key] !== value);
  return { data: Object.fromEntries(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : 1))), disabled, restored, changed };
}

export function stateConfigMap(namespace: string, data: Record<string, string>): ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: STATE_CONFIGMAP_NAME, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } },
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
