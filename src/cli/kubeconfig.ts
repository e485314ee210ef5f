// Where the commands find their Kubernetes connection. `run` is usually a pod (in-cluster first);
// `status` is usually a person at a terminal (kubeconfig files first, as kubectl does).

import { existsSync } from 'node:fs';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { errorMessage } from '../observability/logger.js';
import { CommandError } from './flags.js';

export interface KubeConfigOptions {
  /** `--kubeconfig`: this file and nothing else. */
  path?: string | undefined;
  /** `--context`: a context of the loaded configuration instead of its current one. */
  context?: string | undefined;
  env: NodeJS.ProcessEnv;
  /**
   * `in-cluster-first` (the operator): the pod's service account when KUBERNETES_SERVICE_HOST is
   * set, else client-node's defaults. `files-first` (interactive use): KUBECONFIG, then
   * ~/.kube/config, then the service account; read from `env`, so tests can point it anywhere.
   */
  order: 'in-cluster-first' | 'files-first';
}

const firstLine = (error: unknown): string => errorMessage(error).split('\n')[0]!;

/** A loaded configuration with a cluster; any problem is a one-line CommandError (exit 2). */
export function loadKubeConfig(options: KubeConfigOptions): KubeConfig {
  const { path: file, env } = options;
  const kc = new KubeConfig();
  let described = file ? ` from ${file}` : '';
  try {
    if (file) {
      kc.loadFromFile(file);
    } else if (options.order === 'in-cluster-first') {
      if (env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
      else kc.loadFromDefault();
    } else {
      const files = defaultFiles(env);
      if (files.length > 0) {
        described = ` from ${files.join(path.delimiter)}`;
        loadFiles(kc, files);
      } else if (env.KUBERNETES_SERVICE_HOST) {
        kc.loadFromCluster();
      } else {
        throw new CommandError('no Kubernetes configuration: pass --kubeconfig PATH, set KUBECONFIG, or create ~/.kube/config', 2);
      }
    }
  } catch (error) {
    if (error instanceof CommandError) throw error;
    throw new CommandError(`cannot load Kubernetes configuration${described}: ${firstLine(error)}`, 2);
  }
  if (options.context !== undefined) {
    if (!kc.getContextObject(options.context)) {
      throw new CommandError(`context ${JSON.stringify(options.context)} is not in the Kubernetes configuration${described}`, 2);
    }
    kc.setCurrentContext(options.context);
  }
  if (!kc.getCurrentCluster()) {
    const context = kc.getCurrentContext();
    throw new CommandError(`no cluster in the Kubernetes configuration${described}${context ? ` for context ${JSON.stringify(context)}` : ''}`, 2);
  }
  return kc;
}

/** kubectl's search: every file of KUBECONFIG that exists, else ~/.kube/config when it exists. */
function defaultFiles(env: NodeJS.ProcessEnv): string[] {
  if (env.KUBECONFIG) {
    const listed = env.KUBECONFIG.split(path.delimiter).filter((entry) => entry !== '');
    // kubectl skips missing entries of the list, but a list of nothing but typos deserves an error.
    const present = listed.filter((entry) => existsSync(entry));
    if (present.length === 0 && listed.length > 0) throw new CommandError(`cannot load Kubernetes configuration from KUBECONFIG=${env.KUBECONFIG}: no such file`, 2);
    return present;
  }
  const home = env.HOME ?? env.USERPROFILE;
  const config = home ? path.join(home, '.kube', 'config') : undefined;
  return config && existsSync(config) ? [config] : [];
}

/** Merges files as kubectl does: the first file to name a cluster, user, context or current context wins. */
function loadFiles(kc: KubeConfig, files: readonly string[]): void {
  kc.loadFromFile(files[0]!);
  for (const file of files.slice(1)) {
    const next = new KubeConfig();
    next.loadFromFile(file);
    if (!kc.getCurrentContext() && next.getCurrentContext()) kc.setCurrentContext(next.getCurrentContext());
    for (const cluster of next.getClusters()) if (!kc.getCluster(cluster.name)) kc.addCluster(cluster);
    for (const user of next.getUsers()) if (!kc.getUser(user.name)) kc.addUser(user);
    for (const context of next.getContexts()) if (!kc.getContextObject(context.name)) kc.addContext(context);
  }
}
