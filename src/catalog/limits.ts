// Checks that keep what `render` accepts equal to what the cluster accepts, and inputs bounded:
// catalog objects against our own CRDs' schemas (lengths, counts), rule ports as Cilium means them
// (its pattern is unanchored at the end), names that could collide, nesting depth, and input size.
// Called by validation after its own checks; everything here is a problem value, never a throw.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { isRecord, type KubeObject } from '../kube/types.js';
import { crdSchema, formatSchemaError, validateSchema, type CustomResourceDefinition } from '../kube/openapi.js';
import { quoteValue } from '../kube/names.js';
import { CILIUM_POLICY_SCHEMAS } from './cilium-policy-schema.generated.js';
import { catalogCrds } from './crd-definitions.js';
import type { CatalogKind } from './types.js';

/** Deeper than any catalog object or Namespace needs (Cilium rules are ~10 levels). */
export const MAX_NESTING_DEPTH = 100;

/** What one `render` reads at most, all inputs together; a larger input is refused, not parsed. */
export const MAX_INPUT_BYTES = 32 * 1024 * 1024;

/** Suffix of `access-<S>-ingress`: a SharedService named `<X>-ingress` would make `access-<X>-ingress` ambiguous. */
export const INGRESS_SUFFIX = '-ingress';

/** A problem when `value` nests objects or lists more than `max` levels deep (checked without recursion). */
export function nestingProblem(value: unknown, max = MAX_NESTING_DEPTH): string | undefined {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > max) return `is nested more than ${max} levels deep`;
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push([child, depth + 1]);
  }
  return undefined;
}

/**
 * `access-<S>` of a service named `<X>-ingress` is `access-<X>-ingress`, the name of service `<X>`'s
 * ingress policy in its namespace: two reconcilers would own one object. Refused by construction
 * (the CRD carries the same rule), whatever other services exist.
 */
export function sharedServiceNameProblem(name: string): string | undefined {
  if (!name.endsWith(INGRESS_SUFFIX)) return undefined;
  return `metadata.name ${quoteValue(name)} may not end in ${INGRESS_SUFFIX}: access-${name} would also be the name of SharedService ${quoteValue(name.slice(0, -INGRESS_SUFFIX.length))}'s ingress policy (access-<name>-ingress)`;
}

// A named port as Kubernetes names container ports (IsValidPortName): lowercase letters, digits and
// single hyphens, at most 15 characters, starting with a letter (so "0x50" is not taken for a name).
const PORT_NAME = /^[a-z](?:-?[a-z0-9])*$/;
const PORT_NUMBER = /^[0-9]+$/;

/**
 * Ports in `toPorts` of the rules of one rule list (`spec.egress`, ...): Cilium's schema accepts any
 * string that *starts* like a port ("1234x", "65535999a"); the agent then rejects the policy or reads
 * something else than was meant. A port is a decimal number 0-65535 or a port name; `endPort` needs a
 * numeric port and may not be below it.
 */
export function rulePortProblems(rules: unknown, at: string): string[] {
  const problems: string[] = [];
  if (!Array.isArray(rules)) return problems;
  rules.forEach((rule, r) => {
    const toPorts = isRecord(rule) ? rule.toPorts : undefined;
    if (!Array.isArray(toPorts)) return;
    toPorts.forEach((entry, i) => {
      const ports = isRecord(entry) ? entry.ports : undefined;
      if (!Array.isArray(ports)) return;
      ports.forEach((port, j) => {
        if (!isRecord(port)) return;
        const where = `${at}[${r}].toPorts[${i}].ports[${j}]`;
        const value = port.port;
        if (typeof value !== 'string') return; // Cilium's schema reports the type
        const numeric = PORT_NUMBER.test(value);
        if (numeric ? Number(value) > 65535 : !(value.length <= 15 && PORT_NAME.test(value))) {
          const hint = /^[0-9]/.test(value) ? 'a decimal port number 0-65535' : 'a port number or a port name (lowercase letters, digits and hyphens, at most 15, starting with a letter)';
          problems.push(`${where}.port: ${quoteValue(value)} is not ${hint}`);
          return;
        }
        const endPort = port.endPort;
        if (endPort === undefined) return;
        if (!numeric) problems.push(`${where}.endPort needs a numeric port, not the port name ${quoteValue(value)}`);
        else if (typeof endPort === 'number' && endPort < Number(value)) problems.push(`${where}.endPort ${endPort} is below port ${value}`);
      });
    });
  });
  return problems;
}

let crdSchemas: Map<string, unknown> | undefined;

/**
 * The object against our own CRD's schema, as the API server checks it (maxLength, maxItems, enum,
 * CEL rules); unknown fields are left to validation, which names them.
 */
export function crdSchemaProblems(kind: CatalogKind, object: KubeObject): string[] {
  crdSchemas ??= new Map(
    catalogCrds(CILIUM_POLICY_SCHEMAS).map((crd) => {
      const definition = crd as unknown as CustomResourceDefinition;
      return [definition.spec.names.kind, crdSchema(definition)];
    }),
  );
  const schema = crdSchemas.get(kind);
  if (!schema) return [];
  const { status: _status, ...withoutStatus } = object as KubeObject & { status?: unknown };
  return validateSchema(schema, withoutStatus, { unknownFields: 'ignore' }).map(formatSchemaError);
}

/**
 * Reads a file (or a file descriptor: 0 is stdin) up to `maxBytes`; throws an Error saying so when
 * there is more. Character devices and pipes are read in chunks, so `/dev/zero` stops at the limit.
 */
export function readBounded(file: string | number, maxBytes: number): string {
  const fd = typeof file === 'number' ? file : openSync(file, 'r');
  try {
    const size = fstatSync(fd).isFile() ? fstatSync(fd).size : 0;
    if (size > maxBytes) throw new Error(`larger than ${formatBytes(maxBytes)} (${formatBytes(size)}); render reads at most ${formatBytes(maxBytes)} of input`);
    const chunks: Buffer[] = [];
    let total = 0;
    const chunk = Buffer.alloc(1024 * 1024);
    for (;;) {
      let read: number;
      try {
        read = readSync(fd, chunk, 0, chunk.length, null);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') continue; // a non-blocking stdin that has nothing yet
        if ((error as NodeJS.ErrnoException).code === 'EOF') break;
        throw error;
      }
      if (read === 0) break;
      total += read;
      if (total > maxBytes) throw new Error(`larger than ${formatBytes(maxBytes)}; render reads at most ${formatBytes(maxBytes)} of input`);
      chunks.push(Buffer.from(chunk.subarray(0, read)));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    if (typeof file !== 'number') closeSync(fd);
  }
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(bytes % (1024 * 1024) === 0 ? 0 : 1)} MiB` : `${bytes} bytes`;
}

/**
 * Problems of a catalog object that passed validation's own checks: names that would collide, rule
 * ports Cilium would misread, and anything else our CRD's schema refuses (so render fails where
 * `kubectl apply` would).
 */
export function catalogLimitProblems(kind: CatalogKind, object: KubeObject): string[] {
  const spec = isRecord(object.spec) ? object.spec : {};
  const problems: string[] = [];
  if (kind === 'SharedService') {
    const problem = sharedServiceNameProblem(String(object.metadata?.name ?? ''));
    if (problem) problems.push(problem);
  }
  const sections = kind === 'NetworkBaseline' ? ['ingress', 'ingressDeny', 'egress', 'egressDeny'] : kind === 'NetworkProfile' ? ['ingress', 'egress'] : [];
  for (const section of sections) problems.push(...rulePortProblems(spec[section], `spec.${section}`));
  if (problems.length > 0) return problems;
  return crdSchemaProblems(kind, object);
}
