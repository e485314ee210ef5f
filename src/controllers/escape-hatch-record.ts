// The escape-hatch record controller (one key): when each namespace was first seen with
// enforcement disabled, kept in the `netpol-profiles-state` ConfigMap so that every replica and
// every restart reports the same time; Events when the hatch opens and closes. Entries that cannot
// be trusted (not RFC 3339, in the future) are rewritten and reported.

import type { KubeApi } from '../kube/api.js';
import type { EventRecorder } from '../kube/events.js';
import { quoteValue } from '../kube/names.js';
import { RESOURCES } from '../kube/resources.js';
import { scopedApi } from '../kube/scoped-api.js';
import type { Logger } from '../observability/logger.js';
import type { ClusterView } from '../reconcile/cluster-view.js';
import {
  EscapeHatchMemory,
  formatSince,
  humanDuration,
  nextEscapeHatchState,
  RECORD_CONFIGMAP_NAME,
  recordConfigMap,
  type RecordProblem,
} from '../reconcile/escape-hatch.js';
import type { ReconcileResult } from '../reconcile/workqueue.js';
import type { Controller, Watches } from './controller.js';

const KEY = 'escape-hatch-record';

export interface EscapeHatchRecordControllerOptions {
  /** Writes pass the leader's fence (see `Operator`). */
  api: KubeApi;
  view: ClusterView;
  /** Where the record lives. */
  operatorNamespace: string;
  events: EventRecorder;
  logger: Logger;
  dryRun: boolean;
  /** An entry of the record was refused and rewritten. */
  onRecordRefused?(reason: RecordProblem['reason']): void;
  /** Unix seconds (tests). */
  now?: () => number;
}

export class EscapeHatchRecordController implements Controller {
  readonly name = 'escape-hatch-record';
  readonly concurrency = 1;
  /** Every replica keeps it, so that a new leader knows what the old one saw. */
  private readonly seen = new EscapeHatchMemory();
  private readonly now: () => number;

  constructor(private readonly options: EscapeHatchRecordControllerOptions) {
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  readonly watches: Watches = {
    escapeHatchRecord: (event, add) => {
      this.seen.noteRecord(event.object, this.now());
      add(KEY);
    },
    namespaces: (event, add) => {
      const name = event.object.metadata?.name ?? '';
      const enforcement = this.options.view.config.keys.enforcement;
      const gone = event.type === 'deleted' || !this.options.view.isWritable(name);
      const disabled = event.object.metadata?.labels?.[enforcement];
      if (!gone && disabled === 'disabled') this.seen.seenDisabled.add(name);
      if (gone || disabled !== event.old?.metadata?.labels?.[enforcement]) add(KEY);
    },
  };

  cachesSynced(): void {
    const { view, operatorNamespace } = this.options;
    this.seen.noteRecord(view.caches.escapeHatchRecord.get(RECORD_CONFIGMAP_NAME, operatorNamespace), this.now());
    for (const intent of view.liveIntents()) if (intent.enforcementDisabled) this.seen.seenDisabled.add(intent.namespace);
  }

  keys(): Iterable<string> {
    return [KEY];
  }

  async reconcile(_key: string, signal: AbortSignal): Promise<ReconcileResult> {
    const { view, operatorNamespace, logger, events } = this.options;
    const api = scopedApi(this.options.api, { signal });
    const now = this.now();
    const current = view.caches.escapeHatchRecord.get(RECORD_CONFIGMAP_NAME, operatorNamespace);
    const changes = nextEscapeHatchState(current, view.liveIntents(), now, this.seen);
    if (changes.changed) {
      if (this.options.dryRun) {
        logger.info('dry-run: would record escape-hatch state', { configMap: `${operatorNamespace}/${RECORD_CONFIGMAP_NAME}`, data: changes.data });
      } else if (current) {
        await api.update(RESOURCES.configMaps, { ...current, data: changes.data });
      } else {
        await api.create(RESOURCES.configMaps, recordConfigMap(operatorNamespace, changes.data));
      }
    }
    const namespaceTarget = (namespace: string) => {
      const live = view.caches.namespaces.get(namespace);
      return live ? { apiVersion: 'v1', kind: 'Namespace', name: namespace, uid: live.metadata?.uid } : undefined;
    };
    for (const { namespace, value, reason, since } of changes.corrected) {
      const why = reason === 'InFuture' ? 'is in the future' : 'is not an RFC 3339 time';
      const message = `${RECORD_CONFIGMAP_NAME} had disabled-since ${quoteValue(value)} for this namespace, which ${why}; recorded ${formatSince(since)} instead`;
      logger.warn('escape-hatch record refused', { namespace, value, reason, recorded: formatSince(since) });
      this.options.onRecordRefused?.(reason);
      const target = namespaceTarget(namespace);
      if (target) await events.record(target, 'Warning', 'InvalidEscapeHatchRecord', message, signal);
    }
    for (const namespace of changes.dropped) {
      logger.info('escape-hatch record cleared', { namespace, reason: 'the namespace was never seen with enforcement disabled' });
    }
    for (const { namespace, since } of changes.disabled) {
      logger.warn('enforcement disabled', { namespace, since: formatSince(since) });
      const target = namespaceTarget(namespace);
      if (!target) continue;
      // Warning: all traffic of the namespace is allowed, which on-call must see among the warnings.
      const note = `escape hatch on since ${formatSince(since)}: escape-hatch-allow-all allows all traffic for this namespace`;
      await events.record(target, 'Warning', 'EnforcementDisabled', note, signal);
    }
    for (const { namespace, since } of changes.restored) {
      logger.info('enforcement restored', { namespace, disabledFor: humanDuration(now - since) });
      const target = namespaceTarget(namespace);
      if (!target) continue; // the namespace is gone: nothing to tell it
      const note = `enforcement restored; the escape hatch was on since ${formatSince(since)} (${humanDuration(now - since)})`;
      await events.record(target, 'Normal', 'EnforcementRestored', note, signal);
    }
    return {};
  }

  memory(): Record<string, number> {
    return { escapeHatchEntries: this.seen.seenDisabled.size + this.seen.since.size };
  }
}
