// Reading a cluster from a read-only command (`status`, `simulate --kubeconfig`): the connection,
// paged lists, and one line for each way the API can fail.

import type { KubeConfig } from '@kubernetes/client-node';
import { isApiError, isNotFound, type KubeApi } from '../kube/api.js';
import { HttpKubeApi } from '../kube/http-api.js';
import { apiVersionOf, RESOURCES, type ResourceRef } from '../kube/resources.js';
import type { KubeObject, Namespace, ObservedPolicy } from '../kube/types.js';
import { errorMessage } from '../observability/logger.js';
import { CommandError } from './flags.js';
import { packageVersion } from './version.js';

export function connect(kubeConfig: KubeConfig, command: string): HttpKubeApi {
  try {
    return new HttpKubeApi(kubeConfig, { userAgent: `netpol-profiles-${command}/${packageVersion()}` });
  } catch (error) {
    throw new CommandError(`cannot use the Kubernetes configuration: ${errorMessage(error).split('\n')[0]}`, 2);
  }
}

const PAGE_SIZE = 500;

/**
 * Every object of a resource, page by page, each with its `kind` and `apiVersion` (the API server
 * leaves them out of the items of built-in lists, and our code dispatches on them).
 */
export async function listAll<T extends KubeObject>(api: KubeApi, resource: ResourceRef): Promise<T[]> {
  const items: T[] = [];
  const typed = { kind: resource.kind, apiVersion: apiVersionOf(resource) };
  let next: string | undefined;
  do {
    const page = await api.list<T>(resource, { limit: PAGE_SIZE, ...(next ? { continue: next } : {}) });
    for (const item of page.items) items.push({ ...item, ...typed });
    next = page.continue;
  } while (next);
  return items;
}

/** What every read-only command reads of a cluster: Namespaces, the catalog, and every CNP and CCNP (ours or not). */
export interface ClusterPolicyWorld {
  namespaces: Namespace[];
  /** NetworkProfiles, SharedServices and NetworkBaselines. */
  catalogObjects: KubeObject[];
  policies: ObservedPolicy[];
  clusterPolicies: ObservedPolicy[];
}

export async function readPolicyWorld(api: KubeApi): Promise<ClusterPolicyWorld> {
  const [namespaces, profiles, services, baselines, policies, clusterPolicies] = await Promise.all([
    listAll<Namespace>(api, RESOURCES.namespaces),
    listAll<KubeObject>(api, RESOURCES.networkProfiles),
    listAll<KubeObject>(api, RESOURCES.sharedServices),
    listAll<KubeObject>(api, RESOURCES.networkBaselines),
    listAll<ObservedPolicy>(api, RESOURCES.ciliumNetworkPolicies),
    listAll<ObservedPolicy>(api, RESOURCES.ciliumClusterwideNetworkPolicies),
  ]);
  return { namespaces, catalogObjects: [...profiles, ...services, ...baselines], policies, clusterPolicies };
}

export async function getIfExists<T extends KubeObject>(api: KubeApi, resource: ResourceRef, name: string, namespace: string): Promise<T | undefined> {
  try {
    return await api.get<T>(resource, name, namespace);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * One line that says which server, what failed and, where it helps, what to do. `needs` says what
 * the command reads, for a 403.
 */
export function describeFailure(error: unknown, server: string, command: string, needs: string): string {
  const message = errorMessage(error).split('\n')[0]!;
  if (!isApiError(error)) return `cannot read from ${server}: ${message}`;
  switch (error.reason) {
    case 'ConnectionError':
      return `cannot reach ${server}: ${message}`;
    case 'Unauthorized':
      return `${server} did not accept the credentials: ${message}`;
    case 'Forbidden':
      return `${server} denied access: ${message} (${command} needs read access to ${needs})`;
    case 'NotFound': {
      // A list answered 404: the resource type is unknown to the cluster.
      const crds = /networkprofiles|sharedservices|networkbaselines/.test(message) ? "netpol-profiles' CRDs" : /cilium/.test(message) ? "Cilium's CRDs" : 'this resource';
      return `${server} does not serve a resource ${command} needs (are ${crds} installed?): ${message}`;
    }
    default:
      return `${server} failed: ${message}`;
  }
}
