// The shared-service controller: `access-<S>-ingress` in a SharedService's home namespace (key: the
// service's name), for services with `manageIngress`, allowing exactly the namespaces granted access.

import type { RenderConfig } from '../config.js';
import { CATALOG_API_VERSION } from '../catalog/types.js';
import { catalogObjectsNamed } from '../labels.js';
import type { ClusterView } from '../reconcile/cluster-view.js';
import type { ReconcileResult } from '../reconcile/workqueue.js';
import { renderSharedService } from '../render/render.js';
import { specChanged, type Controller, type Watches } from './controller.js';
import type { PolicyWriter } from './policy-writer.js';

export interface SharedServiceControllerOptions {
  view: ClusterView;
  config: RenderConfig;
  writer: PolicyWriter;
  concurrency: number;
}

export class SharedServiceController implements Controller {
  readonly name = 'sharedservice';
  readonly concurrency: number;
  /** Services that have (or had) an access-ingress object: their key must follow namespace changes even after `manageIngress` is turned off. */
  private readonly withIngress = new Set<string>();

  constructor(private readonly options: SharedServiceControllerOptions) {
    this.concurrency = options.concurrency;
  }

  readonly watches: Watches = {
    namespaces: (event, add) => {
      const { view, config } = this.options;
      const catalog = view.catalog();
      const named = new Set<string>();
      for (const labels of [event.object.metadata?.labels, event.old?.metadata?.labels]) {
        for (const service of catalogObjectsNamed(labels ?? {}, config.keys).services) named.add(service);
      }
      for (const service of named) if (catalog.services.get(service)?.manageIngress || this.withIngress.has(service)) add(service);
      // A namespace coming or going can be the home of a shared service.
      const name = event.object.metadata?.name;
      for (const service of catalog.services.values()) {
        if (service.manageIngress && service.target.kind === 'pods' && service.target.namespace === name) add(service.name);
      }
    },
    services: (event, add) => {
      if (specChanged(event)) add(event.object.metadata?.name ?? '');
    },
    policies: (event, add) => {
      const source = this.options.view.sourceOf(event.object);
      if (source?.type !== 'access-ingress') return;
      this.withIngress.add(source.source);
      if (event.type === 'deleted' || !this.options.writer.isEcho(event.object)) add(source.source, { priority: 'low' });
    },
  };

  keys(): Iterable<string> {
    const { view } = this.options;
    const names = new Set(view.caches.services.list().map((service) => service.metadata?.name ?? ''));
    // Services whose access-ingress object outlived them (orphans to prune) are keys too.
    for (const policy of view.caches.policies.list()) {
      const source = view.sourceOf(policy);
      if (source?.type !== 'access-ingress') continue;
      names.add(source.source);
      this.withIngress.add(source.source);
    }
    return names;
  }

  async reconcile(name: string, signal: AbortSignal): Promise<ReconcileResult> {
    const { view, config, writer } = this.options;
    const catalog = view.catalog();
    const granted = catalog.services.get(name)?.manageIngress
      ? view
          .liveIntents()
          .filter((intent) => intent.access.includes(name))
          .map((intent) => intent.namespace)
      : [];
    const desired = renderSharedService(name, catalog, granted, config, { isWritable: (namespace) => view.isWritable(namespace) });
    const outcome = await writer.converge(`sharedservice/${name}`, desired, view.ownedPoliciesFrom('access-ingress', name), signal, { sharedService: name });
    return writer.reportConflicts(outcome, { apiVersion: CATALOG_API_VERSION, kind: 'SharedService', name }, signal);
  }

  memory(): Record<string, number> {
    return { servicesWithIngress: this.withIngress.size };
  }
}
