// Argo CD health checks for the catalog kinds (manifests/argocd/), run with Lua 5.1 on the objects
// the real operator leaves in the test API server: Healthy when valid, Degraded when it refuses
// an object (Invalid), Progressing while it has not seen the current generation.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { TestApiServer } from '../support/apiserver/server.js';
import { runHealthScript } from '../support/lua.js';
import { D, eventually, namespace, startOperator, startServerWithCatalog, type RunningOperator } from '../support/operator-harness.js';
import { PROJECT_ROOT } from '../support/project.js';

const ARGOCD_DIR = path.join(PROJECT_ROOT, 'manifests', 'argocd');
const KINDS = { NetworkProfile: 'networkprofiles', SharedService: 'sharedservices', NetworkBaseline: 'networkbaselines' } as const;

function scripts(): Record<string, string> {
  const configMap = parse(readFileSync(path.join(ARGOCD_DIR, 'argocd-cm.yaml'), 'utf8')) as { metadata: { name: string; namespace: string }; data: Record<string, string> };
  expect(configMap.metadata).to.deep.equal({ name: 'argocd-cm', namespace: 'argocd' });
  return configMap.data;
}

describe('Argo CD health checks (manifests/argocd)', function () {
  this.timeout(60_000);

  it('has one entry per catalog kind, each exactly health.lua', () => {
    const lua = readFileSync(path.join(ARGOCD_DIR, 'health.lua'), 'utf8');
    const data = scripts();
    expect(Object.keys(data).sort()).to.deep.equal(Object.keys(KINDS).map((kind) => `resource.customizations.health.${D}_${kind}`).sort());
    for (const [key, script] of Object.entries(data)) expect(script, key).to.equal(lua);
  });

  it('without a status, without a Ready condition, and with Ready=Unknown: Progressing', () => {
    const script = readFileSync(path.join(ARGOCD_DIR, 'health.lua'), 'utf8');
    const base = { apiVersion: `${D}/v1alpha1`, kind: 'NetworkProfile', metadata: { name: 'web', generation: 1 }, spec: {} };
    expect(runHealthScript(script, base).status).to.equal('Progressing');
    expect(runHealthScript(script, { ...base, status: { conditions: [] } }).status).to.equal('Progressing');
    const unknown = runHealthScript(script, { ...base, status: { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'Unknown', message: 'starting' }] } });
    expect(unknown).to.deep.equal({ status: 'Progressing', message: 'Ready is Unknown: starting' });
    // A message with quotes, backslashes and non-ASCII text comes through as it is.
    const odd = runHealthScript(script, { ...base, status: { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'False', reason: 'Invalid', message: 'spec "x" \\ é' }] } });
    expect(odd).to.deep.equal({ status: 'Degraded', message: 'Invalid: spec "x" \\ é' });
  });

  describe('on what the operator writes', () => {
    let server: TestApiServer;
    let running: RunningOperator | undefined;
    beforeEach(async () => {
      server = await startServerWithCatalog();
      server.apply(namespace('shop', { [`${D}/profile`]: 'standard', [`access.${D}/postgres`]: 'true' }));
    });
    afterEach(async () => {
      await running?.stop();
      running = undefined;
      await server.stop();
    });

    const get = (kind: keyof typeof KINDS, name: string) => server.get(`${D}/v1alpha1`, KINDS[kind], undefined, name)!;
    const health = (kind: keyof typeof KINDS, name: string) => runHealthScript(scripts()[`resource.customizations.health.${D}_${kind}`]!, get(kind, name));

    it('Healthy for valid objects of each kind, Degraded for an invalid one, Progressing while the operator has not seen an edit', async () => {
      running = await startOperator(server);
      await eventually(() => {
        expect(health('NetworkProfile', 'standard')).to.deep.equal({ status: 'Healthy', message: 'used by 1 namespace(s)' });
        expect(health('SharedService', 'postgres').status).to.equal('Healthy');
        expect(health('NetworkBaseline', 'dns')).to.deep.equal({ status: 'Healthy', message: 'rendered as baseline-dns' });
      });

      // A misspelt field: accepted by the API server, refused by the operator.
      const profile = get('NetworkProfile', 'standard');
      server.apply({ ...profile, spec: { ...(profile.spec as object), egress: [{ toEntitie: ['world'] }] } });
      await eventually(() => {
        const result = health('NetworkProfile', 'standard');
        expect(result.status).to.equal('Degraded');
        expect(result.message).to.match(/^Invalid: .*toEntitie/);
      });

      // The operator is down while someone edits the object: its status speaks of an older generation.
      await running.stop();
      running = undefined;
      const service = get('SharedService', 'postgres');
      server.apply({ ...service, spec: { ...(service.spec as object), description: 'edited while the operator was down' } });
      const edited = get('SharedService', 'postgres');
      const generation = edited.metadata!.generation as number;
      expect((edited.status as { observedGeneration: number }).observedGeneration).to.equal(generation - 1);
      expect(health('SharedService', 'postgres')).to.deep.equal({
        status: 'Progressing',
        message: `Waiting for the netpol-profiles operator to validate generation ${generation} (it has validated generation ${generation - 1})`,
      });
      running = await startOperator(server);
      await eventually(() => expect(health('SharedService', 'postgres').status).to.equal('Healthy'));
    });
  });
});
