// Serialises rendered objects: multi-document YAML, or a JSON `List`. Deterministic.

import { stringify } from 'yaml';
import type { PolicyObject } from '../kube/types.js';
import { emitYaml } from './yaml-emit.js';

export type OutputFormat = 'yaml' | 'json';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['yaml', 'json'];

export function formatObjects(objects: readonly PolicyObject[], format: OutputFormat): string {
  if (format === 'json') {
    return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2)}\n`;
  }
  // Specs are shared between objects (and `[{}]` between directions): never emit YAML aliases.
  // The fast emitter writes what the package would, byte for byte; what it does not know for
  // certain, the package writes.
  return objects.map((object) => `---\n${emitYaml(object) ?? stringify(object, { lineWidth: 0, aliasDuplicateObjects: false })}`).join('');
}
