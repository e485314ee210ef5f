// A KubeApi bound to a scope: every request carries the scope's AbortSignal (a reconcile's, so that
// shutdown and lost leadership cancel what is in flight), and every write passes the scope's fence
// right before it is sent (leader election: no write once the lease may have passed to another
// replica). Scopes nest: an inner signal wins, fences add up.

import type { DeleteOptions, KubeApi, ListOptions, PatchType, RequestOptions, WatchHandlers, WatchOptions } from './api.js';
import type { ResourceRef } from './resources.js';
import type { KubeObject } from './types.js';

export interface ApiScope {
  /** Given to every request that does not bring its own. */
  signal?: AbortSignal;
  /** Throws to refuse a write; called synchronously right before each write is sent. */
  fence?: () => void;
}

export function scopedApi(api: KubeApi, scope: ApiScope): KubeApi {
  const read = <O extends RequestOptions>(options: O = {} as O): O => {
    const signal = options.signal ?? scope.signal;
    return signal ? { ...options, signal } : options;
  };
  const write = <O extends RequestOptions>(options: O = {} as O): O => {
    const withSignal = read(options);
    const { fence } = scope;
    if (!fence) return withSignal;
    const inner = options.beforeSend;
    return {
      ...withSignal,
      beforeSend: () => {
        fence();
        inner?.();
      },
    };
  };
  return {
    get: <T extends KubeObject>(resource: ResourceRef, name: string, namespace?: string, options?: RequestOptions) =>
      api.get<T>(resource, name, namespace, read(options)),
    list: <T extends KubeObject>(resource: ResourceRef, options?: ListOptions) => api.list<T>(resource, read(options)),
    watch: <T extends KubeObject>(resource: ResourceRef, options: WatchOptions, handlers: WatchHandlers<T>, signal: AbortSignal) =>
      api.watch<T>(resource, options, handlers, signal),
    create: <T extends KubeObject>(resource: ResourceRef, object: T, options?: RequestOptions) => api.create<T>(resource, object, write(options)),
    update: <T extends KubeObject>(resource: ResourceRef, object: T, options?: RequestOptions) => api.update<T>(resource, object, write(options)),
    updateStatus: <T extends KubeObject>(resource: ResourceRef, object: T, options?: RequestOptions) =>
      api.updateStatus<T>(resource, object, write(options)),
    patch: <T extends KubeObject>(resource: ResourceRef, name: string, namespace: string | undefined, patch: unknown, type: PatchType, options?: RequestOptions) =>
      api.patch<T>(resource, name, namespace, patch, type, write(options)),
    delete: (resource: ResourceRef, name: string, namespace?: string, options?: DeleteOptions) => api.delete(resource, name, namespace, write(options)),
  };
}
