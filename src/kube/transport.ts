// Where and how to connect, taken from a client-node KubeConfig: the server URL, one keep-alive
// agent (TLS material from the kubeconfig) and fresh credentials for every request.

import { KubeConfig } from '@kubernetes/client-node';
import http from 'node:http';
import https from 'node:https';

export interface PreparedRequest {
  agent: http.Agent;
  /** Authorization, impersonation and the like, re-read per request so rotated tokens are picked up. */
  headers: Record<string, string>;
  /** `user:password` for basic auth, when the kubeconfig uses it. */
  auth?: string;
}

export class KubeTransport {
  readonly server: URL;
  private readonly authConfig: KubeConfig;
  private agent: http.Agent | undefined;

  constructor(kc: KubeConfig) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error(`kubeconfig: context "${kc.getCurrentContext()}" names no cluster`);
    this.server = new URL(cluster.server);
    if (this.server.protocol !== 'http:' && this.server.protocol !== 'https:') {
      throw new Error(`kubeconfig: cluster "${cluster.name}" has server ${cluster.server}: only http and https are supported`);
    }
    // client-node refuses plain http unless skipTLSVerify is set, although there is no TLS to
    // verify; kubectl does not. Give client-node a view that says so, sharing users and contexts.
    this.authConfig = this.server.protocol === 'http:' && !cluster.skipTLSVerify ? plainHttpView(kc, cluster.name) : kc;
  }

  get secure(): boolean {
    return this.server.protocol === 'https:';
  }

  /** The request function of the server's protocol. */
  get request(): typeof http.request {
    return this.secure ? https.request : http.request;
  }

  /** Path prefix of the server URL (a proxy may serve the API under one), without a trailing slash. */
  get basePath(): string {
    return this.server.pathname.replace(/\/+$/, '');
  }

  async prepare(): Promise<PreparedRequest> {
    // applyToHTTPSOptions runs the kubeconfig's authenticators (token file, exec, OIDC, basic),
    // which cache and refresh credentials themselves. It also builds an agent each time; we keep
    // our own so connections are reused, and take the TLS options from the first answer.
    const options: https.RequestOptions = {};
    await this.authConfig.applyToHTTPSOptions(options);
    this.agent ??= this.createAgent(options);
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(options.headers ?? {})) {
      if (value !== undefined) headers[key] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    const prepared: PreparedRequest = { agent: this.agent, headers };
    if (options.auth) prepared.auth = options.auth;
    return prepared;
  }

  private createAgent(tls: https.RequestOptions): http.Agent {
    if (!this.secure) return new http.Agent({ keepAlive: true });
    const options: https.AgentOptions = { keepAlive: true };
    if (tls.ca !== undefined) options.ca = tls.ca;
    if (tls.cert !== undefined) options.cert = tls.cert;
    if (tls.key !== undefined) options.key = tls.key;
    if (tls.pfx !== undefined) options.pfx = tls.pfx;
    if (tls.passphrase !== undefined) options.passphrase = tls.passphrase;
    if (tls.rejectUnauthorized !== undefined) options.rejectUnauthorized = tls.rejectUnauthorized;
    if (tls.servername !== undefined) options.servername = tls.servername;
    return new https.Agent(options);
  }

  /** Closes idle and open connections (open watches end). */
  close(): void {
    this.agent?.destroy();
  }
}

function plainHttpView(kc: KubeConfig, clusterName: string): KubeConfig {
  const view = new KubeConfig();
  view.loadFromOptions({
    clusters: kc.getClusters().map((c) => (c.name === clusterName ? { ...c, skipTLSVerify: true } : c)),
    users: kc.getUsers(),
    contexts: kc.getContexts(),
    currentContext: kc.getCurrentContext(),
  });
  return view;
}
