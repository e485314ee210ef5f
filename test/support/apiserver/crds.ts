// Where the CRDs the test API server loads by default live: Cilium's (shared) and the project's.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory holding the project's package.json, found upwards from this module (src or dist). */
export function projectRoot(start = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = start;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'netpol-profiles') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no netpol-profiles package.json above ${start}`);
    dir = parent;
  }
}

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Cilium's CRD files: `../shared/cilium/crds/*.yaml` next to the project. */
export function ciliumCrdFiles(root = projectRoot()): string[] {
  return yamlFiles(path.resolve(root, '../shared/cilium/crds'));
}

/** The project's own CRD files (`crds/*.yaml`), whichever exist. */
export function projectCrdFiles(root = projectRoot()): string[] {
  return yamlFiles(path.resolve(root, 'crds'));
}

export function defaultCrdFiles(root = projectRoot()): string[] {
  return [...ciliumCrdFiles(root), ...projectCrdFiles(root)];
}
