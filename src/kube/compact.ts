// Keeps cached objects small: drops `metadata.managedFields` (server-side apply bookkeeping we never
// read, often the largest part of an object) and shares one copy of each distinct policy spec —
// 10,000 namespaces on one profile hold 10,000 identical specs otherwise.

import type { KubeObject } from './types.js';

/** Interned specs are bounded by the size of their JSON, not by count: one spec can be ~55 KB. */
const MAX_INTERNED_BYTES = 4 * 1024 * 1024;

/**
 * Shares one copy of each distinct spec. Bounded by bytes, least recently used first out: specs that
 * are unique per object (an `access-<S>-ingress` listing every granted namespace, new with every
 * grant) pass through without crowding out the few that thousands of objects share. Evicting a spec
 * only stops new objects from sharing it; cached objects keep theirs.
 */
export class SpecInterner {
  private readonly specs = new Map<string, unknown>();
  private totalBytes = 0;

  constructor(private readonly maxBytes = MAX_INTERNED_BYTES) {}

  intern(spec: unknown): unknown {
    if (spec === undefined || spec === null || typeof spec !== 'object') return spec;
    const key = JSON.stringify(spec);
    const known = this.specs.get(key);
    if (known !== undefined) {
      this.specs.delete(key);
      this.specs.set(key, known);
      return known;
    }
    if (key.length > this.maxBytes / 8) return spec;
    this.specs.set(key, spec);
    this.totalBytes += key.length;
    for (const oldest of this.specs.keys()) {
      if (this.totalBytes <= this.maxBytes) break;
      this.specs.delete(oldest);
      this.totalBytes -= oldest.length;
    }
    return spec;
  }

  get size(): number {
    return this.specs.size;
  }

  /** Characters of JSON interned (the bound applies to this). */
  get bytes(): number {
    return this.totalBytes;
  }
}

export function withoutManagedFields<T extends KubeObject>(object: T): T {
  if (object.metadata?.managedFields === undefined) return object;
  const { managedFields: _dropped, ...metadata } = object.metadata;
  return { ...object, metadata };
}

/** For caches of generated policies: no managedFields, shared specs (without an interner: not shared). Cached objects are never mutated. */
export function compactPolicy<T extends KubeObject>(object: T, interner: SpecInterner | undefined): T {
  const slim = withoutManagedFields(object);
  if (!interner || !('spec' in slim)) return slim;
  return { ...slim, spec: interner.intern(slim.spec) };
}
