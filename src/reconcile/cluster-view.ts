// The operator's view of the cluster, read from its list-watch caches: the catalog (rebuilt only
// when a catalog object changes), each namespace's intent (memoised per namespace version), and the
// generated objects that exist, indexed the ways the controllers look them up.

import type { RenderConfig } from '../config.js';
import { buildCatalog, type InputProblem } from '../catalog/load.js';
import { emptyCatalog, type Catalog } from '../catalog/types.js';
import { isTerminating, type KubeObject, type Namespace, type ObservedPolicy } from '../kube/types.js';
import { evaluateNamespace, type NamespaceIntent } from '../labels.js';
import { catalogNames } from '../render/render.js';
import { generatedSource, type SourceType } from '../render/policies.js';
import type { ConfigMap } from './escape-hatch.js';

/** What the controllers need from a list-watch cache. */
export interface ObjectCache<T extends KubeObject> {
  get(name: string, namespace?: string): T | undefined;
  list(): T[];
  listByNamespace(namespace: string): T[];
  hasSynced(): boolean;
}

export interface ViewCaches {
  namespaces: ObjectCache<Namespace>;
  profiles: ObjectCache<KubeObject>;
  services: ObjectCache<KubeObject>;
  baselines: ObjectCache<KubeObject>;
  policies: ObjectCache<ObservedPolicy>;
  clusterPolicies: ObjectCache<ObservedPolicy>;
  /** The escape-hatch record: one ConfigMap in the operator namespace. */
  escapeHatchRecord: ObjectCache<ConfigMap>;
}

export class ClusterView {
  private catalogVersion = 0;
  private namespacesVersion = 0;
  private live: { catalogVersion: number; namespacesVersion: number; intents: NamespaceIntent[] } | undefined;
  private built: { version: number; catalog: Catalog; problems: InputProblem[] } | undefined;
  private readonly intents = new Map<string, { resourceVersion: string | undefined; catalogVersion: number; intent: NamespaceIntent }>();

  constructor(
    readonly caches: ViewCaches,
    readonly config: RenderConfig,
  ) {}

  hasSynced(): boolean {
    return Object.values(this.caches).every((cache: ObjectCache<KubeObject>) => cache.hasSynced());
  }

  /** A namespace changed: the list of live intents must be recomputed. */
  namespacesChanged(): void {
    this.namespacesVersion++;
  }

  /** A catalog object changed: the catalog and every intent must be recomputed. */
  catalogChanged(): void {
    this.catalogVersion++;
  }

  private build(): { catalog: Catalog; problems: InputProblem[] } {
    if (this.built?.version !== this.catalogVersion) {
      const objects = [...this.caches.profiles.list(), ...this.caches.services.list(), ...this.caches.baselines.list()].map((object) => ({
        source: 'cluster',
        object,
      }));
      const { catalog, problems } = objects.length === 0 ? { catalog: emptyCatalog(), problems: [] } : buildCatalog(objects);
      this.built = { version: this.catalogVersion, catalog, problems };
    }
    return this.built;
  }

  catalog(): Catalog {
    return this.build().catalog;
  }

  /** Catalog objects that fail validation (one entry per object, sorted). */
  invalidCatalogObjects(): Array<{ kind: string; name: string }> {
    const subjects = new Set(this.build().problems.map((problem) => problem.subject));
    return [...subjects].sort().map((subject) => {
      const slash = subject.indexOf('/');
      return { kind: subject.slice(0, slash), name: subject.slice(slash + 1) };
    });
  }

  /** Validation problems of catalog objects, by `Kind/name`. */
  catalogProblems(subject: string): string[] {
    return this.build()
      .problems.filter((problem) => problem.subject === subject)
      .map((problem) => problem.message);
  }

  intent(namespace: Namespace): NamespaceIntent {
    const name = namespace.metadata?.name ?? '';
    const resourceVersion = namespace.metadata?.resourceVersion;
    const cached = this.intents.get(name);
    if (cached && cached.resourceVersion === resourceVersion && cached.catalogVersion === this.catalogVersion && resourceVersion !== undefined) {
      return cached.intent;
    }
    const intent = evaluateNamespace(name, namespace.metadata?.labels ?? {}, catalogNames(this.catalog()), this.config);
    this.intents.set(name, { resourceVersion, catalogVersion: this.catalogVersion, intent });
    return intent;
  }

  forgetNamespace(name: string): void {
    this.intents.delete(name);
  }

  /** Namespace intents memoised (one per namespace seen; forgotten when the namespace goes). */
  get intentCount(): number {
    return this.intents.size;
  }

  /**
   * Intents of every namespace that exists and is not being deleted; computed once per change of
   * the namespaces or the catalog (status passes and metric scrapes share it).
   */
  liveIntents(): readonly NamespaceIntent[] {
    const live = this.live;
    if (live && live.catalogVersion === this.catalogVersion && live.namespacesVersion === this.namespacesVersion) return live.intents;
    const intents = this.caches.namespaces
      .list()
      .filter((namespace) => !isTerminating(namespace))
      .map((namespace) => this.intent(namespace));
    this.live = { catalogVersion: this.catalogVersion, namespacesVersion: this.namespacesVersion, intents };
    return intents;
  }

  /** The namespace holds a profile policy of ours. */
  hasProfilePolicy(namespace: string): boolean {
    return this.caches.policies.listByNamespace(namespace).some((policy) => this.sourceOf(policy)?.type === 'profile');
  }

  /** Objects can be written into the namespace: it exists and is not being deleted. */
  isWritable(namespace: string): boolean {
    const found = this.caches.namespaces.get(namespace);
    return found !== undefined && !isTerminating(found);
  }

  /**
   * Our CNPs in `namespace` that the namespace controller owns: everything but shared services'
   * ingress policies, including objects with our label that we would not generate (to be pruned).
   */
  namespacePolicies(namespace: string): ObservedPolicy[] {
    return this.caches.policies.listByNamespace(namespace).filter((policy) => this.sourceOf(policy)?.type !== 'access-ingress');
  }

  /** Generated CNPs of one source, wherever they are (e.g. `access-ingress` of a service that moved). */
  ownedPoliciesFrom(type: SourceType, source: string): ObservedPolicy[] {
    return this.caches.policies.list().filter((policy) => {
      const from = this.sourceOf(policy);
      return from?.type === type && from.source === source;
    });
  }

  /** What a cached policy was generated from; undefined when it is not an object we would generate. */
  sourceOf(policy: KubeObject): { type: SourceType; source: string } | undefined {
    return generatedSource(policy, this.config.keys);
  }
}
