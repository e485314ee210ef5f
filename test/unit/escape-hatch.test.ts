// The durable escape-hatch record: first-seen times survive, new ones are stamped, restored
// namespaces are cleared, and nothing changes when nothing did.
import { expect } from 'chai';
import {
  EscapeHatchMemory,
  formatSince,
  humanDuration,
  nextEscapeHatchState,
  readDisabledSince,
  recordConfigMap,
} from '../../src/reconcile/escape-hatch.js';
import { parseRfc3339 } from '../../src/kube/time.js';
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
    const later = nextEscapeHatchState(recordConfigMap('ops', first.data), [intent('a', true)], T0 + 3600);
    expect(later.changed).to.equal(false);
    expect(later.disabled).to.deep.equal([]);
    expect(readDisabledSince(recordConfigMap('ops', later.data), T0 + 3600).get('a')).to.equal(T0);
  });

  it('clears a restored or vanished namespace and reports it', () => {
    const current = recordConfigMap('ops', { 'disabled-since.a': formatSince(T0), 'disabled-since.gone': formatSince(T0 - 60), other: 'kept' });
    const next = nextEscapeHatchState(current, [intent('a', false)], T0 + 90);
    expect(next.changed).to.equal(true);
    expect(next.restored.map((r) => r.namespace).sort()).to.deep.equal(['a', 'gone']);
    expect(next.data).to.deep.equal({ other: 'kept' });
  });

  it('writes nothing when there is no record and nothing disabled', () => {
    expect(nextEscapeHatchState(undefined, [intent('a', false)], T0).changed).to.equal(false);
  });

  it('skips entries it cannot read rather than failing', () => {
    expect([...readDisabledSince(recordConfigMap('ops', { 'disabled-since.a': 'yesterday', 'disabled-since.b': '2027-01-15T08:00:00Z' }), T0)]).to.deep.equal([
      ['b', Date.parse('2027-01-15T08:00:00Z') / 1000],
    ]);
  });

  it('reads RFC 3339 only: "1", a date without time, or a day that does not exist are not times', () => {
    expect(parseRfc3339('2027-01-15T08:00:00Z')).to.equal(Date.parse('2027-01-15T08:00:00Z') / 1000);
    expect(parseRfc3339('2027-01-15T09:00:00.5+01:00')).to.equal(Date.parse('2027-01-15T08:00:00Z') / 1000);
    for (const value of ['1', '2001', '2027-01-15', 'garbage 2027-01-15T08:00:00Z', '2027-02-30T08:00:00Z', '2027-13-01T08:00:00Z', '2027-01-15 08:00:00', '2027-01-15 08:00:00Z', '2027-01-15T08:00:00.1234567890Z']) {
      expect(parseRfc3339(value), value).to.equal(undefined);
    }
    expect([...readDisabledSince(recordConfigMap('ops', { 'disabled-since.a': '1' }), T0)]).to.deep.equal([]);
  });

  it('takes a time in the future as now, and reports it', () => {
    const future = formatSince(T0 + 10 * 365 * 86400);
    const next = nextEscapeHatchState(recordConfigMap('ops', { 'disabled-since.a': future }), [intent('a', true)], T0);
    expect(next.data).to.deep.equal({ 'disabled-since.a': formatSince(T0) });
    expect(next.corrected).to.deep.equal([{ namespace: 'a', value: future, reason: 'InFuture', since: T0 }]);
    expect(next.disabled, 'not newly disabled').to.deep.equal([]);
    expect(readDisabledSince(recordConfigMap('ops', { 'disabled-since.a': future }), T0).get('a')).to.equal(T0);
  });

  it('refuses an unparsable time: the time this process knew is written back, or now, and it is reported', () => {
    const memory = new EscapeHatchMemory();
    nextEscapeHatchState(undefined, [intent('a', true), intent('b', true)], T0 - 7200, memory);
    const garbled = recordConfigMap('ops', { 'disabled-since.a': 'garbage', 'disabled-since.b': formatSince(T0 - 7200) });
    const next = nextEscapeHatchState(garbled, [intent('a', true), intent('b', true)], T0, memory);
    expect(next.data['disabled-since.a']).to.equal(formatSince(T0 - 7200));
    expect(next.corrected).to.deep.equal([{ namespace: 'a', value: 'garbage', reason: 'Unparsable', since: T0 - 7200 }]);
    const fresh = nextEscapeHatchState(garbled, [intent('a', true), intent('b', true)], T0);
    expect(fresh.corrected).to.deep.equal([{ namespace: 'a', value: 'garbage', reason: 'Unparsable', since: T0 }]);
    expect(fresh.disabled).to.deep.equal([]);
  });

  it('restores a deleted record from what it knew, without announcing the namespaces again', () => {
    const memory = new EscapeHatchMemory();
    const first = nextEscapeHatchState(undefined, [intent('a', true)], T0 - 600, memory);
    expect(first.disabled).to.deep.equal([{ namespace: 'a', since: T0 - 600 }]);
    const afterDeletion = nextEscapeHatchState(undefined, [intent('a', true)], T0, memory);
    expect(afterDeletion.changed).to.equal(true);
    expect(afterDeletion.data).to.deep.equal({ 'disabled-since.a': formatSince(T0 - 600) });
    expect(afterDeletion.disabled).to.deep.equal([]);
  });

  it('clears a key of a namespace never seen disabled without calling it restored', () => {
    const memory = new EscapeHatchMemory();
    memory.seenDisabled.add('was-off');
    const current = recordConfigMap('ops', { 'disabled-since.fake': formatSince(T0 - 60), 'disabled-since.was-off': formatSince(T0 - 60) });
    const next = nextEscapeHatchState(current, [intent('fake', false), intent('was-off', false)], T0, memory);
    expect(next.restored).to.deep.equal([{ namespace: 'was-off', since: T0 - 60 }]);
    expect(next.dropped).to.deep.equal(['fake']);
    expect(next.data).to.deep.equal({});
  });

  it('describes durations for humans', () => {
    expect(humanDuration(42)).to.equal('42s');
    expect(humanDuration(3 * 3600 + 12 * 60)).to.equal('3h 12m');
    expect(humanDuration(2 * 86400 + 4 * 3600)).to.equal('2d 4h');
  });
});
