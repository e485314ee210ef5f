// Generated files must match their sources: the Cilium schema module (from ../shared/cilium/crds)
// and the CRDs in crds/ (from src/catalog/crd-definitions.ts). Run `npm run generate` to refresh.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { generatedCrdFiles, generatedSchemaModule, GENERATED_SCHEMA_FILE } from '../../tools/generate.js';

describe('generated files', () => {
  it('src/catalog/cilium-policy-schema.generated.ts is current with ../shared/cilium/crds', () => {
    expect(readFileSync(GENERATED_SCHEMA_FILE, 'utf8') === generatedSchemaModule(), 'stale: run npm run generate').to.equal(true);
  });

  it('crds/*.yaml and crds/kustomization.yaml are current with src/catalog/crd-definitions.ts', () => {
    for (const [file, content] of generatedCrdFiles()) {
      expect(readFileSync(file, 'utf8') === content, `${file} is stale: run npm run generate`).to.equal(true);
    }
  });
});
