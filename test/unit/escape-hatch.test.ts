// The durable escape-hatch record: first-seen times survive, new ones are stamped, restored
// namespaces are cleared, and nothing changes when nothing did.
import { expect } from 'chai';
import { formatSince, humanDuration, nextEscapeHatchState, readDisabledSince, stateConfigMap } from '../../src/reconcile/escape-hatch.js';
import type { NamespaceIntent } from '../../src/labels.js';

const intent = (namespace: string, enforcementDisabled: boolean): NamespaceIntent => ({
  namespace,
  protected: false,
  profile: { state: 'none' },
  access: [],
  retainedAccess: [],
  enforcementDisabled,
  problems: [],
});
const T0 = 1_800_000_000;

describe('escape-hatch record', () => {
  it('stamps a newly disabled namespace with now, and keeps the first time afterwards', () => {
    const first = nextEscapeHatchState(undefined, [intent('a', true), intent('b', false)], T0);
    expect(first.changed).to.equal(true);
    expect(first.disabled).to.deep.equal([{ namespace: 'a', since: T0 }]);
    expect(first.data).to.deep.equal({ 'disabled-since.a': formatSince(T0) });
    const later = nextEscapeHatchState(stateConfigMap('ops', first.data), [intent('a', true)], T0 + 3600);
    expect(later.changed).to.equal(false);
    expect(later.disabled).to.deep.equal([]);
    expect(readDisabledSince(stateConfigMap('ops', later.data)).get('a')).to.equal(T0);
  });

  it('clears a restored or vanished namespace and reports it', () => {
    const current = stateConfigMap('ops', { 'disabled-since.a': formatSince(T0), 'disabled-since.gone': formatSince(T0 - 60), other: 'kept' });
    const next = nextEscapeHatchState(current, [intent('a', false)], T0 + 90);
    expect(next.changed).to.equal(true);
    expect(next.restored.map((r) => r.namespace).sort()).to.deep.equal(['a', 'gone']);
    expect(next.data).to.deep.equal({ other: 'kept' });
  });

  it('writes nothing when there is no record and nothing disabled', () => {
    expect(nextEscapeHatchState(undefined, [intent('a', false)], T0).changed).to.equal(false);
  });

  it('skips entries it cannot read rather than failing', () => {
    expect([...readDisabledSince(stateConfigMap('ops', { 'disabled-since.a': 'yesterday', 'disabled-since.b': '2027-01-15T08:00:00Z' }))]).to.deep.equal([
      ['b', Date.parse('2027-01-15T08:00:00Z') / 1000],
    ]);
  });

  it('describes durations for humans', () => {
    expect(humanDuration(42)).to.equal('42s');
    expect(humanDuration(3 * 3600 + 12 * 60)).to.equal('3h 12m');
    expect(humanDuration(2 * 86400 + 4 * 3600)).to.equal('2d 4h');
  });
});
