// Where and how to connect, taken from a client-node KubeConfig: the server URL, one keep-alive
// agent built the way client-node builds its own (proxy-url, TLS server name and material from the
// kubeconfig) and fresh credentials for every request.

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
  private agentOptions: https.AgentOptions | undefined;
  /** Agents replaced after a credential rotation, closed after a grace period. */
  private readonly retired: http.Agent[] = [];

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
    // which cache and refresh credentials themselves, and reads the TLS material (files are read
    // again each time, so rotated certificates are picked up).
    const options: https.RequestOptions = {};
    await this.authConfig.applyToHTTPSOptions(options);
    const tls = agentOptionsOf(options);
    if (!this.agent || !sameAgentOptions(tls, this.agentOptions)) this.replaceAgent(tls);
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(options.headers ?? {})) {
      if (value !== undefined) headers[key] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    const prepared: PreparedRequest = { agent: this.agent!, headers };
    if (options.auth) prepared.auth = options.auth;
    return prepared;
  }

  /**
   * The agent client-node itself would use for this cluster (an HTTP or HTTPS proxy agent for
   * `proxy-url`, SOCKS for `socks5://`, else a plain agent; TLS server name, CA and client
   * certificate from the kubeconfig), built once with keep-alive so connections are reused. When the
   * TLS material changes (an exec plugin's client certificate was rotated) a new agent takes over;
   * the old one closes its connections once requests in flight on it have had time to end.
   */
  private replaceAgent(tls: https.AgentOptions): void {
    const cluster = this.authConfig.getCurrentCluster();
    const previous = this.agent;
    this.agent = (this.authConfig as unknown as AgentFactory).createAgent(cluster, { ...tls, keepAlive: true });
    this.agentOptions = tls;
    if (previous) {
      const timer = setTimeout(() => previous.destroy(), RETIRED_AGENT_GRACE_MS);
      timer.unref();
      this.retired.push(previous);
    }
  }

  /** Closes idle and open connections (open watches end). */
  close(): void {
    this.agent?.destroy();
    for (const agent of this.retired.splice(0)) agent.destroy();
  }
}

/** client-node's own agent construction (`KubeConfig.createAgent`, proxy-url aware), which its typings keep private. */
interface AgentFactory {
  createAgent(cluster: unknown, options: https.AgentOptions): http.Agent;
}

const RETIRED_AGENT_GRACE_MS = 60_000;

// The request options client-node sets that belong to the connection (its own list, in applyToHTTPSOptions).
const AGENT_KEYS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername', 'ciphers', 'crl', 'secureProtocol'] as const;

function agentOptionsOf(options: https.RequestOptions): https.AgentOptions {
  const picked: Record<string, unknown> = {};
  for (const key of AGENT_KEYS) if (options[key] !== undefined) picked[key] = options[key];
  return picked as https.AgentOptions;
}

function sameAgentOptions(a: https.AgentOptions, b: https.AgentOptions | undefined): boolean {
  if (!b) return false;
  return AGENT_KEYS.every((key) => {
    const x: unknown = a[key];
    const y: unknown = b[key];
    if (Buffer.isBuffer(x) && Buffer.isBuffer(y)) return x.equals(y);
    return x === y || JSON.stringify(x) === JSON.stringify(y);
  });
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
