// Serialises rendered objects: multi-document YAML, or a JSON `List`. Deterministic.

import { stringify } from 'yaml';
import type { PolicyObject } from '../kube/types.js';

export type OutputFormat = 'yaml' | 'json';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['yaml', 'json'];

export function formatObjects(objects: readonly PolicyObject[], format: OutputFormat): string {
  if (format === 'json') {
    return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2)}\n`;
  }
  // Specs are shared between objects (and `[{}]` between directions): never emit YAML aliases.
  return objects.map((object) => `---\n${stringify(object, { lineWidth: 0, aliasDuplicateObjects: false })}`).join('');
}
