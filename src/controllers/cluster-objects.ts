// The cluster-objects controller: the escape hatch and one CCNP per NetworkBaseline (one key). The
// baselines leave out namespaces whose profile label is invalid and was never applied, so which
// namespaces have a valid profile label matters here too.

import type { RenderConfig } from '../config.js';
import type { ClusterView } from '../reconcile/cluster-view.js';
import type { ReconcileResult } from '../reconcile/workqueue.js';
import { renderClusterObjects } from '../render/render.js';
import { specChanged, type Controller, type Watches } from './controller.js';
import type { PolicyWriter } from './policy-writer.js';

const KEY = 'cluster';

export class ClusterObjectsController implements Controller {
  readonly name = 'cluster';
  readonly concurrency = 1;

  constructor(private readonly options: { view: ClusterView; config: RenderConfig; writer: PolicyWriter }) {}

  readonly watches: Watches = {
    // Only a namespace whose profile label names no valid profile (before or after the change) can
    // enter or leave the baselines' exclusions; a namespace with a valid profile never adds this key
    // (a cold sync of 10,000 profiled namespaces reconciles it once).
    namespaces: (event, add) => {
      const keys = this.options.config.keys;
      const profiles = this.options.view.catalog().profiles;
      const labels = event.object.metadata?.labels ?? {};
      const oldLabels = event.old?.metadata?.labels ?? {};
      const invalidProfile = (l: Record<string, string>) => l[keys.profile] !== undefined && !profiles.has(l[keys.profile]!);
      const name = event.object.metadata?.name ?? '';
      const gone = event.type === 'deleted' || !this.options.view.isWritable(name);
      const relevant = gone || !event.old || labels[keys.profile] !== oldLabels[keys.profile] || labels[keys.platform] !== oldLabels[keys.platform];
      if ((invalidProfile(labels) || invalidProfile(oldLabels)) && relevant) add(KEY);
    },
    // A NetworkProfile turning invalid or valid changes which namespaces the baselines leave out.
    profiles: (event, add) => {
      if (specChanged(event)) add(KEY);
    },
    baselines: (event, add) => {
      if (specChanged(event)) add(KEY);
    },
    clusterPolicies: (event, add) => {
      if (event.type === 'deleted' || !this.options.writer.isEcho(event.object)) add(KEY, { priority: 'low' });
    },
    // A profile policy appearing or going in a namespace whose profile label is now invalid decides
    // whether the baselines select that namespace. Not filtered by the echo test: our own create can
    // reach the cache after the label turned into a typo, when this controller has already run
    // without it.
    policies: (event, add) => {
      const { view } = this.options;
      const namespace = event.object.metadata.namespace;
      if (!namespace || event.type === 'updated' || view.sourceOf(event.object)?.type !== 'profile') return;
      const live = view.caches.namespaces.get(namespace);
      const state = live ? view.intent(live).profile.state : 'none';
      if (state === 'invalid' || state === 'unavailable') add(KEY, { priority: 'low' });
    },
  };

  keys(): Iterable<string> {
    return [KEY];
  }

  async reconcile(_key: string, signal: AbortSignal): Promise<ReconcileResult> {
    const { view, config, writer } = this.options;
    const desired = renderClusterObjects(view.liveIntents(), view.catalog(), config, { hasProfilePolicy: (namespace) => view.hasProfilePolicy(namespace) });
    const outcome = await writer.converge(KEY, desired, view.caches.clusterPolicies.list(), signal, { cluster: true });
    return writer.reportConflicts(outcome, { apiVersion: 'v1', kind: 'Namespace', name: 'default' }, signal);
  }
}
