// What validation refuses so that `render` (the CI gate) and the cluster agree: objects our own
// CRDs refuse, ports Cilium's unanchored pattern lets through, names that would make two reconcilers
// own one object, and inputs nested too deep. The test API server (with our CRDs) is the judge of
// "the cluster refuses it".
import { objectKey, type KubeObject } from '../../src/kube/types.js';
import { expect } from 'chai';
import { buildCatalog } from '../../src/catalog/load.js';
import { validateCatalogObject } from '../../src/catalog/validate.js';
import { makeRenderConfig } from '../../src/config.js';
import { renderAll } from '../../src/render/render.js';
import { TestApiServer } from '../support/apiserver/server.js';

const D = 'network-policy.homelab';
const API = `${D}/v1alpha1`;
const object = (kind: string, name: unknown, spec: unknown): KubeObject => ({ apiVersion: API, kind, metadata: { name: name as string }, spec });
const problems = (o: KubeObject): string[] => {
  const result = validateCatalogObject(o);
  return result.ok ? [] : result.problems;
};
const service = (name: string, extra: Record<string, unknown> = {}) =>
  object('SharedService', name, { namespace: 'webns', podSelector: { matchLabels: { app: name } }, ports: [{ port: '8080', protocol: 'TCP' }], ...extra });
const profile = (egress: unknown[]) => object('NetworkProfile', 'web', { egress });
const portRule = (port: Record<string, unknown>) => ({ toEntities: ['world'], toPorts: [{ ports: [port] }] });

describe('catalog limits', () => {
  describe('agrees with the API server on our CRDs', function () {
    this.timeout(20_000);
    let server: TestApiServer;
    before(async () => {
      server = await TestApiServer.start();
    });
    after(async () => {
      await server?.stop();
    });

    const accepted = (o: KubeObject): boolean => {
      try {
        server.apply(o as never);
        server.delete(API, o.kind!, undefined, o.metadata!.name!);
        return true;
      } catch {
        return false;
      }
    };

    const cases: Array<[string, KubeObject]> = [
      ['a valid SharedService', service('db')],
      ['a 1,024-character description', service('db', { description: 'd'.repeat(1024) })],
      ['a 1,025-character description', service('db', { description: 'd'.repeat(1025) })],
      ['40 ports', service('db', { ports: Array.from({ length: 40 }, (_, i) => ({ port: String(1000 + i), protocol: 'TCP' })) })],
      ['101 ports', service('db', { ports: Array.from({ length: 101 }, (_, i) => ({ port: String(1000 + i), protocol: 'TCP' })) })],
      ['a profile with a 1,025-character description', object('NetworkProfile', 'web', { description: 'd'.repeat(1025) })],
      ['a SharedService named web-ingress', service('web-ingress')],
    ];
    for (const [what, candidate] of cases) {
      it(`${what}: render and the API server give the same answer`, () => {
        const rendered = problems(candidate);
        expect(rendered.length === 0, `render: ${rendered.join('; ') || 'accepted'}`).to.equal(accepted(candidate));
      });
    }

    it('says what is too long or too many, with the field path', () => {
      expect(problems(service('db', { description: 'd'.repeat(1025) })).join('\n')).to.match(/^spec\.description: Too long/m);
      expect(problems(service('db', { ports: Array.from({ length: 41 }, (_, i) => ({ port: String(1000 + i) })) })).join('\n')).to.match(/^spec\.ports: Too many/m);
    });
  });

  describe('names that two reconcilers would share', () => {
    it('refuses a SharedService named <X>-ingress: access-<X>-ingress is the name of X\'s ingress policy', () => {
      expect(problems(service('web-ingress'))).to.deep.equal([
        'metadata.name "web-ingress" may not end in -ingress: access-web-ingress would also be the name of SharedService "web"\'s ingress policy (access-<name>-ingress)',
      ]);
    });

    it('never renders two objects with the same name', () => {
      const { catalog, problems: found } = buildCatalog(
        [service('web', { manageIngress: true }), service('web-ingress')].map((o) => ({ source: 'catalog.yaml', object: o })),
      );
      expect(found.map((p) => p.subject)).to.deep.equal(['SharedService/web-ingress']);
      const { objects } = renderAll([{ name: 'webns', labels: { [`access.${D}/web`]: 'true', [`access.${D}/web-ingress`]: 'true' } }], catalog, makeRenderConfig());
      const keys = objects.map(objectKey);
      expect(keys).to.include('CiliumNetworkPolicy/webns/access-web-ingress');
      expect(new Set(keys).size).to.equal(keys.length);
    });
  });

  describe('rule ports (Cilium\'s pattern is unanchored at its end)', () => {
    for (const port of ['1234x', '0x50', '65535999a', '99999', '-80', 'HTTP', 'a-very-long-port-name']) {
      it(`refuses port ${JSON.stringify(port)}`, () => {
        expect(problems(profile([portRule({ port, protocol: 'TCP' })])).join('\n')).to.contain('spec.egress[0].toPorts[0].ports[0].port');
      });
    }

    for (const port of ['0', '443', '65535', 'https', 'grpc-web']) {
      it(`accepts port ${JSON.stringify(port)}`, () => {
        expect(problems(profile([portRule({ port, protocol: 'TCP' })]))).to.deep.equal([]);
      });
    }

    it('refuses an endPort below its port, or with a named port', () => {
      expect(problems(profile([portRule({ port: '8080', endPort: 80, protocol: 'TCP' })]))).to.deep.equal(['spec.egress[0].toPorts[0].ports[0].endPort 80 is below port 8080']);
      expect(problems(profile([portRule({ port: 'https', endPort: 8443, protocol: 'TCP' })])).join('\n')).to.contain('endPort needs a numeric port');
      expect(problems(profile([portRule({ port: '8080', endPort: 8090, protocol: 'TCP' })]))).to.deep.equal([]);
    });

    it('checks baseline rules, deny rules included', () => {
      const baseline = object('NetworkBaseline', 'dns', { endpointSelector: {}, egressDeny: [portRule({ port: '53x', protocol: 'UDP' })] });
      expect(problems(baseline).join('\n')).to.contain('spec.egressDeny[0].toPorts[0].ports[0].port: "53x"');
    });
  });

  it('refuses a spec nested deeper than any catalog object needs, with a message and no stack overflow', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 20_000; i++) deep = { a: deep };
    expect(problems(profile([deep]))).to.deep.equal(['spec is nested more than 100 levels deep']);
  });

  it('says a name that is not a string is not a string, not that it is missing', () => {
    expect(problems(object('NetworkProfile', 12345, {}))).to.include('metadata.name must be a string, not a number ("12345")');
  });
});
