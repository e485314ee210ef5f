// The namespace controller: `profile-<P>` and `access-<S>` of one namespace (key: its name), and
// the Events about its labels.

import type { RenderConfig } from '../config.js';
import type { EventRecorder } from '../kube/events.js';
import { isTerminating, type KubeObject } from '../kube/types.js';
import { catalogObjectsNamed, reportedProblems } from '../labels.js';
import type { ClusterView } from '../reconcile/cluster-view.js';
import { describeOutcome, madeWrites } from '../reconcile/apply.js';
import type { ReconcileResult } from '../reconcile/workqueue.js';
import { renderIntent } from '../render/render.js';
import { specChanged, type CacheEvent, type Controller, type Enqueue, type Watches } from './controller.js';
import type { PolicyWriter } from './policy-writer.js';

export interface NamespaceControllerOptions {
  view: ClusterView;
  config: RenderConfig;
  writer: PolicyWriter;
  events: EventRecorder;
  concurrency: number;
}

export class NamespaceController implements Controller {
  readonly name = 'namespace';
  readonly concurrency: number;

  constructor(private readonly options: NamespaceControllerOptions) {
    this.concurrency = options.concurrency;
  }

  readonly watches: Watches = {
    namespaces: (event, add) => add(event.object.metadata?.name ?? ''),
    profiles: (event, add) => this.usersChanged('profile', event, add),
    services: (event, add) => this.usersChanged('service', event, add),
    // A generated object changed. The echo of our own write needs no reconcile; anything else is
    // checked in the low lane, so that during a cold sync these checks do not queue ahead of live
    // label changes (in steady state the low lane is empty).
    policies: (event, add) => {
      const { view } = this.options;
      const namespace = event.object.metadata.namespace;
      if (!namespace || view.sourceOf(event.object)?.type === 'access-ingress') return;
      if (event.type === 'deleted' || !this.options.writer.isEcho(event.object)) add(namespace, { priority: 'low' });
    },
  };

  /** A NetworkProfile or SharedService changed what it renders: every namespace whose labels name it. */
  private usersChanged(kind: 'profile' | 'service', event: CacheEvent<KubeObject>, add: Enqueue): void {
    if (!specChanged(event)) return;
    const name = event.object.metadata?.name ?? '';
    const keys = this.options.config.keys;
    for (const namespace of this.options.view.caches.namespaces.list()) {
      const named = catalogObjectsNamed(namespace.metadata?.labels ?? {}, keys);
      const uses = kind === 'profile' ? named.profile === name : named.services.includes(name);
      if (uses && !isTerminating(namespace)) add(namespace.metadata?.name ?? '');
    }
  }

  keys(): Iterable<string> {
    const { view } = this.options;
    const names = new Set(view.caches.namespaces.list().map((namespace) => namespace.metadata?.name ?? ''));
    // Namespaces that hold our objects: an orphan's namespace is reconciled (and its objects pruned) too.
    for (const policy of view.caches.policies.list()) {
      if (policy.metadata.namespace && view.sourceOf(policy)?.type !== 'access-ingress') names.add(policy.metadata.namespace);
    }
    return names;
  }

  async reconcile(name: string, signal: AbortSignal): Promise<ReconcileResult> {
    const { view, config, writer, events } = this.options;
    const subject = `namespace/${name}`;
    const namespace = view.caches.namespaces.get(name);
    // A namespace that is gone or going takes its policies with it; writing into it would only fail.
    if (!namespace || isTerminating(namespace)) {
      if (namespace) writer.forget(subject);
      else {
        writer.forget(subject, name);
        view.forgetNamespace(name);
        events.forgetNamespace(name);
      }
      return {};
    }
    const intent = view.intent(namespace);
    const outcome = await writer.converge(subject, renderIntent(intent, view.catalog(), config), view.namespacePolicies(name), signal, { namespace: name });
    const target = { apiVersion: 'v1', kind: 'Namespace', name, uid: namespace.metadata?.uid };
    const { shown, more } = reportedProblems(intent.problems);
    for (const problem of shown) await events.record(target, 'Warning', problem.reason, `${problem.label}: ${problem.message}`, signal);
    if (more > 0) {
      // One Event whatever the count, so that changing how many there are does not make new ones.
      const note = `more than ${shown.length} label problems; only the first ${shown.length} (by label key) get an Event each: see netpol-profiles status -n ${name}`;
      await events.record(target, 'Warning', 'TooManyLabelProblems', note, signal);
    }
    if (madeWrites(outcome)) await events.record(target, 'Normal', 'PoliciesApplied', describeOutcome(outcome), signal);
    return writer.reportConflicts(outcome, target, signal);
  }
}
