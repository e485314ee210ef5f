// Keeps cached objects small: drops `metadata.managedFields` (server-side apply bookkeeping we never
// read, often the largest part of an object) and shares one copy of each distinct policy spec —
// 10,000 namespaces on one profile hold 10,000 identical specs otherwise.

import type { KubeObject } from './types.js';

const MAX_INTERNED = 10_000;

export class SpecInterner {
  private readonly specs = new Map<string, unknown>();

  intern(spec: unknown): unknown {
    if (spec === undefined || spec === null || typeof spec !== 'object') return spec;
    const key = JSON.stringify(spec);
    const known = this.specs.get(key);
    if (known !== undefined) return known;
    if (this.specs.size >= MAX_INTERNED) this.specs.clear();
    this.specs.set(key, spec);
    return spec;
  }

  get size(): number {
    return this.specs.size;
  }
}

export function withoutManagedFields<T extends KubeObject>(object: T): T {
  if (object.metadata?.managedFields === undefined) return object;
  const { managedFields: _dropped, ...metadata } = object.metadata;
  return { ...object, metadata };
}

/** For caches of generated policies: no managedFields, shared specs. Cached objects are never mutated. */
export function compactPolicy<T extends KubeObject>(object: T, interner: SpecInterner): T {
  const slim = withoutManagedFields(object);
  if (!('spec' in slim)) return slim;
  return { ...slim, spec: interner.intern(slim.spec) };
}
