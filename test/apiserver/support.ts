// Shared helpers of the test API server's own tests: a small test CRD, raw HTTP and kubectl runners.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { CustomResourceDefinition } from '../../src/kube/openapi.js';
import type { TestApiServer } from '../support/apiserver/server.js';

export const KUBECTL = '/usr/bin/kubectl';

/** A namespaced test kind with printer columns, a status subresource and a schema with bounds. */
export const WIDGET_CRD: CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.test.netpol.dev' },
  spec: {
    group: 'test.netpol.dev',
    names: { kind: 'Widget', plural: 'widgets', singular: 'widget', shortNames: ['wdg'] },
    scope: 'Namespaced',
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
          { name: 'Color', type: 'string', jsonPath: '.spec.color' },
          { name: 'Ready', type: 'string', jsonPath: ".status.conditions[?(@.type=='Ready')].status" },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            'x-kubernetes-validations': [
              { rule: 'size(self.metadata.name) <= 20', message: 'metadata.name must be at most 20 characters' },
            ],
            properties: {
              apiVersion: { type: 'string' },
              kind: { type: 'string' },
              metadata: { type: 'object' },
              spec: {
                type: 'object',
                required: ['replicas'],
                'x-kubernetes-validations': [{ rule: "self.replicas <= 8 || self.color == 'red'", message: 'only red widgets scale past 8' }],
                properties: {
                  replicas: { type: 'integer', minimum: 0, maximum: 10 },
                  color: { type: 'string', enum: ['red', 'green', 'blue'], default: 'red' },
                  ports: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: {
                        port: { type: 'integer', minimum: 1, maximum: 65535 },
                        protocol: { type: 'string', enum: ['TCP', 'UDP'] },
                      },
                    },
                  },
                  extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                },
              },
              status: {
                type: 'object',
                properties: {
                  observedGeneration: { type: 'integer' },
                  conditions: {
                    type: 'array',
                    items: { type: 'object', properties: { type: { type: 'string' }, status: { type: 'string' } } },
                  },
                },
              },
            },
          },
        },
      },
    ],
  },
};

export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  accept?: string;
  token?: string;
}

/** One HTTP request to the server as admin (or `token`), body sent as JSON unless already a string. */
export async function request(server: TestApiServer, method: string, path: string, opts: RequestOptions = {}): Promise<HttpResult> {
  const headers: Record<string, string> = { Authorization: `Bearer ${opts.token ?? server.adminToken}` };
  if (opts.accept) headers.Accept = opts.accept;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['Content-Type'] = opts.contentType ?? 'application/json';
  }
  const res = await fetch(`${server.url}${path}`, { method, headers, body });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // non-JSON answers keep `json` empty
  }
  return { status: res.status, headers: res.headers, text, json };
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Fails loudly (never skips) when kubectl is not installed. */
export function requireKubectl(): void {
  if (!existsSync(KUBECTL)) {
    throw new Error(`${KUBECTL} not found: the test API server's conformance tests need the real kubectl (v1.32)`);
  }
}

/** Runs kubectl against the server with a private discovery cache. */
export function kubectl(server: TestApiServer, args: string[], input?: string, kubeconfig = server.kubeconfigPath): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      KUBECTL,
      ['--kubeconfig', kubeconfig, '--cache-dir', `${server.dir}/kubectl-cache`, ...args],
      { timeout: 15_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** Polls `check` every 10 ms until it returns a value other than undefined (max `ms`). */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, what: string, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
