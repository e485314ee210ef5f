// The pure diff: writes only on difference, never touches objects we do not own, keeps what an
// invalid profile label asks to keep, and prunes the rest.
import type { ObservedPolicy } from '../../src/kube/types.js';
import { expect } from 'chai';
import { makeRenderConfig } from '../../src/config.js';
import { diffPolicies } from '../../src/reconcile/diff.js';
import { renderNamespace } from '../../src/render/render.js';
import { defaultCatalog } from '../support/project.js';

const D = 'network-policy.homelab';
const catalog = defaultCatalog();
const config = makeRenderConfig();
const keys = config.keys;

/** What the API server would hand back for an object we created: same content, server fields added, keys reordered. */
function asObserved(object: object, resourceVersion = '7'): ObservedPolicy {
  const copy = JSON.parse(JSON.stringify(object)) as ObservedPolicy;
  copy.metadata = { ...copy.metadata, resourceVersion, uid: `uid-${copy.metadata.name}`, creationTimestamp: '2026-01-01T00:00:00Z' };
  const reversed = Object.fromEntries(Object.entries(copy.spec as object).reverse());
  return { ...copy, spec: reversed };
}

describe('diff', () => {
  const shop = renderNamespace({ name: 'shop', labels: { [`${D}/profile`]: 'standard', [`access.${D}/postgres`]: 'true' } }, catalog, config);

  it('creates everything into an empty namespace', () => {
    const diff = diffPolicies(shop.objects, [], shop.retain, keys);
    expect(diff.create.map((o) => o.metadata.name)).to.deep.equal(['profile-standard', 'access-postgres']);
    expect(diff.update).to.deep.equal([]);
    expect(diff.delete).to.deep.equal([]);
  });

  it('writes nothing when the cluster already matches (key order and server fields do not count)', () => {
    const diff = diffPolicies(shop.objects, shop.objects.map((o) => asObserved(o)), shop.retain, keys);
    expect(diff).to.deep.equal({ create: [], update: [], delete: [], conflicts: [], held: [] });
  });

  it('ignores labels and annotations others added, but restores ours', () => {
    const observed = shop.objects.map((o) => asObserved(o));
    observed[0]!.metadata.labels = { ...observed[0]!.metadata.labels, team: 'web' };
    observed[0]!.metadata.annotations = { note: 'x' };
    expect(diffPolicies(shop.objects, observed, shop.retain, keys).update).to.deep.equal([]);
    observed[1]!.metadata.labels = { ...observed[1]!.metadata.labels, [`${D}/generated-from`]: 'profile.other' };
    const diff = diffPolicies(shop.objects, observed, shop.retain, keys);
    expect(diff.update.map((u) => u.next.metadata.labels[`${D}/generated-from`])).to.deep.equal(['access.postgres']);
  });

  it('updates an edited object, keeping its resourceVersion and foreign labels', () => {
    const observed = shop.objects.map((o) => asObserved(o));
    observed[0]!.spec = { endpointSelector: {}, ingress: [{ fromEntities: ['world'] }] };
    observed[0]!.metadata.labels = { ...observed[0]!.metadata.labels, team: 'web' };
    const diff = diffPolicies(shop.objects, observed, shop.retain, keys);
    expect(diff.update).to.have.length(1);
    const { next } = diff.update[0]!;
    expect(next.spec).to.deep.equal(shop.objects[0]!.spec);
    expect(next.metadata.resourceVersion).to.equal('7');
    expect(next.metadata.labels.team).to.equal('web');
  });

  it('treats rules added through specs[] as drift, whatever spec says, and removes them on update', () => {
    const observed = shop.objects.map((o) => asObserved(o));
    observed[0]!.specs = [{ endpointSelector: {}, ingress: [{ fromEntities: ['world'] }] }];
    const diff = diffPolicies(shop.objects, observed, shop.retain, keys);
    expect(diff.update.map((u) => u.desired.metadata.name)).to.deep.equal(['profile-standard']);
    expect(diff.update[0]!.next).to.not.have.property('specs');
    expect(diff.update[0]!.next.spec).to.deep.equal(shop.objects[0]!.spec);
  });

  it('deletes owned objects that are no longer wanted, after a profile change (create listed too)', () => {
    const before = shop.objects.map((o) => asObserved(o));
    const after = renderNamespace({ name: 'shop', labels: { [`${D}/profile`]: 'internal' } }, catalog, config);
    const diff = diffPolicies(after.objects, before, after.retain, keys);
    expect(diff.create.map((o) => o.metadata.name)).to.deep.equal(['profile-internal']);
    expect(diff.delete.map((o) => o.metadata.name).sort()).to.deep.equal(['access-postgres', 'profile-standard']);
  });

  it('keeps the applied profile policy, untouched, while the profile label is invalid', () => {
    const before = shop.objects.map((o) => asObserved(o));
    before[0]!.spec = { endpointSelector: {}, ingress: [{}], egress: [{}] }; // even a drifted one is left alone
    const typo = renderNamespace({ name: 'shop', labels: { [`${D}/profile`]: 'standrad' } }, catalog, config);
    const diff = diffPolicies(typo.objects, before, typo.retain, keys);
    expect(diff.delete.map((o) => o.metadata.name)).to.deep.equal(['access-postgres']);
    expect(diff.update).to.deep.equal([]);
  });

  it('never updates or deletes an object without our managed-by label; a same-named one is a conflict', () => {
    const foreign = asObserved(shop.objects[0]!);
    foreign.metadata.labels = { app: 'mine' };
    foreign.spec = { endpointSelector: {}, ingress: [{ fromEntities: ['all'] }] };
    const stray = asObserved({ ...shop.objects[1]!, metadata: { name: 'allow-web', namespace: 'shop', labels: {} } });
    const diff = diffPolicies(shop.objects, [foreign, stray], shop.retain, keys);
    expect(diff.conflicts.map((c) => c.observed.metadata.name)).to.deep.equal(['profile-standard']);
    expect(diff.create.map((o) => o.metadata.name)).to.deep.equal(['access-postgres']);
    expect(diff.update).to.deep.equal([]);
    expect(diff.delete).to.deep.equal([]);
  });

  it('holds the old profile policy while the new one is blocked by a same-named foreign object', () => {
    const before = shop.objects.map((o) => asObserved(o));
    const after = renderNamespace({ name: 'shop', labels: { [`${D}/profile`]: 'internal' } }, catalog, config);
    const squatter = asObserved({ ...after.objects[0]!, metadata: { name: 'profile-internal', namespace: 'shop', labels: {} } });
    const diff = diffPolicies(after.objects, [...before, squatter], after.retain, keys);
    expect(diff.conflicts.map((c) => c.desired.metadata.name)).to.deep.equal(['profile-internal']);
    expect(diff.held.map((o) => o.metadata.name)).to.deep.equal(['profile-standard']);
    // Independent objects are not held: the access label was removed, so its policy goes.
    expect(diff.delete.map((o) => o.metadata.name)).to.deep.equal(['access-postgres']);
  });

  it('keeps what was generated from a catalog object that became invalid, without a label problem', () => {
    const before = shop.objects.map((o) => asObserved(o));
    const broken = {
      ...catalog,
      profiles: new Map([...catalog.profiles].filter(([name]) => name !== 'standard')),
      services: new Map([...catalog.services].filter(([name]) => name !== 'postgres')),
      rejected: { profiles: new Set(['standard']), services: new Set(['postgres']), baselines: new Set<string>() },
    };
    const rendered = renderNamespace({ name: 'shop', labels: { [`${D}/profile`]: 'standard', [`access.${D}/postgres`]: 'true' } }, broken, config);
    expect(rendered.intent.problems).to.deep.equal([]);
    expect(rendered.objects).to.deep.equal([]);
    expect(diffPolicies(rendered.objects, before, rendered.retain, keys)).to.deep.equal({ create: [], update: [], delete: [], conflicts: [], held: [] });
    const dropped = renderNamespace({ name: 'shop', labels: { [`${D}/profile`]: 'standard' } }, broken, config);
    expect(diffPolicies(dropped.objects, before, dropped.retain, keys).delete.map((o) => o.metadata.name)).to.deep.equal(['access-postgres']);
  });
});
