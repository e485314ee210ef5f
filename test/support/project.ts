// Paths and fixtures shared by the tests: the project root (tests run compiled from dist/), the
// default catalog, and Cilium's CRD schemas from ../shared.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parse, parseAllDocuments } from 'yaml';
import { buildCatalog, readDocuments, sortDocuments } from '../../src/catalog/load.js';
import type { Catalog } from '../../src/catalog/types.js';
import type { KubeObject } from '../../src/kube/types.js';
import { crdSchema, type CustomResourceDefinition, type JsonSchema } from '../../src/kube/openapi.js';

/** dist/test/support/project.js → the repository root. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SHARED_DIR = path.resolve(PROJECT_ROOT, '../shared');
export const CILIUM_CRD_DIR = path.join(SHARED_DIR, 'cilium/crds');
export const DEFAULT_CATALOG_DIR = path.join(PROJECT_ROOT, 'manifests/catalog');
export const EXAMPLE_NAMESPACES = path.join(PROJECT_ROOT, 'examples/namespaces.yaml');
export const CLI = path.join(PROJECT_ROOT, 'dist/src/cli/main.js');

export function projectPath(...parts: string[]): string {
  return path.join(PROJECT_ROOT, ...parts);
}

/** Loads catalog files and fails loudly if they have any problem. */
export function loadCatalogFiles(...paths: string[]): Catalog {
  const { documents, problems } = readDocuments(paths, () => '');
  const sorted = sortDocuments(documents);
  const built = buildCatalog(sorted.catalogObjects);
  const all = [...problems, ...sorted.problems, ...built.problems];
  if (all.length > 0) throw new Error(`catalog problems: ${JSON.stringify(all)}`);
  return built.catalog;
}

export function defaultCatalog(): Catalog {
  return loadCatalogFiles(DEFAULT_CATALOG_DIR);
}

/** `kubectl kustomize DIR` (DIR relative to the project root), as objects. */
export function kustomize(dir: string): KubeObject[] {
  const out = execFileSync('/usr/bin/kubectl', ['kustomize', projectPath(dir)], { encoding: 'utf8' });
  return parseAllDocuments(out).map((doc) => doc.toJS() as KubeObject);
}

/** The catalog a kustomization builds (e.g. the strict component), failing loudly on any problem. */
export function kustomizeCatalog(dir: string): Catalog {
  const built = buildCatalog(kustomize(dir).map((object) => ({ source: dir, object })));
  if (built.problems.length > 0) throw new Error(`catalog problems: ${JSON.stringify(built.problems)}`);
  return built.catalog;
}

function readCrd(file: string): CustomResourceDefinition {
  return parse(readFileSync(file, 'utf8')) as CustomResourceDefinition;
}

let ciliumSchemas: { cnp: JsonSchema; ccnp: JsonSchema } | undefined;

/** The full openAPIV3Schema of Cilium's CNP and CCNP v2 CRDs, as the API server would apply them. */
export function ciliumCrdSchemas(): { cnp: JsonSchema; ccnp: JsonSchema } {
  ciliumSchemas ??= {
    cnp: crdSchema(readCrd(path.join(CILIUM_CRD_DIR, 'ciliumnetworkpolicies.yaml')), 'v2'),
    ccnp: crdSchema(readCrd(path.join(CILIUM_CRD_DIR, 'ciliumclusterwidenetworkpolicies.yaml')), 'v2'),
  };
  return ciliumSchemas;
}

/** Our catalog CRDs from crds/, by kind. */
export function catalogCrdSchemas(): Map<string, JsonSchema> {
  const schemas = new Map<string, JsonSchema>();
  for (const file of ['networkprofiles', 'sharedservices', 'networkbaselines']) {
    const crd = readCrd(projectPath('crds', `${file}.network-policy.homelab.yaml`));
    schemas.set(crd.spec.names.kind, crdSchema(crd));
  }
  return schemas;
}
