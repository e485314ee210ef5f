// Label parsing: every reason code of SPEC section 2, and what each invalid value means for traffic.
import { expect } from 'chai';
import { makeRenderConfig } from '../../src/config.js';
import { evaluateNamespace, LABEL_PROBLEM_REASONS, type CatalogNames } from '../../src/labels.js';

const catalog: CatalogNames = {
  hasProfile: (name) => ['standard', 'isolated'].includes(name),
  hasService: (name) => ['postgres', 'kube-api'].includes(name),
};
const config = makeRenderConfig();
const D = 'network-policy.homelab';

function evaluate(labels: Record<string, string>, namespace = 'app') {
  return evaluateNamespace(namespace, labels, catalog, config);
}

describe('label parsing', () => {
  it('reads a valid profile, granted access and enforcement', () => {
    const intent = evaluate({ [`${D}/profile`]: 'standard', [`access.${D}/postgres`]: 'true', [`access.${D}/kube-api`]: 'true' });
    expect(intent.profile).to.deep.equal({ state: 'valid', name: 'standard' });
    expect(intent.access).to.deep.equal(['kube-api', 'postgres']);
    expect(intent.enforcementDisabled).to.equal(false);
    expect(intent.problems).to.deep.equal([]);
  });

  it('treats an unlabelled namespace as having no profile and no problems', () => {
    const intent = evaluate({ team: 'x' });
    expect(intent.profile).to.deep.equal({ state: 'none' });
    expect(intent.access).to.deep.equal([]);
    expect(intent.problems).to.deep.equal([]);
  });

  it('UnknownProfile: a well-formed name with no NetworkProfile keeps what was applied', () => {
    const intent = evaluate({ [`${D}/profile`]: 'standrad' });
    expect(intent.profile).to.deep.equal({ state: 'invalid' });
    expect(intent.problems.map((p) => [p.reason, p.label])).to.deep.equal([['UnknownProfile', `${D}/profile`]]);
    expect(intent.problems[0]!.message).to.contain('"standrad"').and.contain('kept');
  });

  for (const [what, value] of [
    ['300 characters', 'a'.repeat(300)],
    ['a newline', 'standard\nevil'],
    ['upper case', 'Standard'],
    ['an empty value', ''],
    ['a space', 'stand ard'],
  ] as const) {
    it(`InvalidProfile: a value with ${what} is kept-as-applied, and the message stays on one line`, () => {
      const intent = evaluate({ [`${D}/profile`]: value });
      expect(intent.profile).to.deep.equal({ state: 'invalid' });
      expect(intent.problems.map((p) => p.reason)).to.deep.equal(['InvalidProfile']);
      expect(intent.problems[0]!.message).not.to.contain('\n');
      expect(intent.problems[0]!.message.length).to.be.below(200);
    });
  }

  it('UnknownSharedService: access to a service that does not exist is not granted', () => {
    const intent = evaluate({ [`access.${D}/postgress`]: 'true', [`access.${D}/postgres`]: 'true' });
    expect(intent.access).to.deep.equal(['postgres']);
    expect(intent.problems.map((p) => [p.reason, p.label])).to.deep.equal([['UnknownSharedService', `access.${D}/postgress`]]);
  });

  it('"false" is the same as no access label, even for a service that does not exist', () => {
    const intent = evaluate({ [`access.${D}/postgres`]: 'false', [`access.${D}/gone`]: 'false' });
    expect(intent.access).to.deep.equal([]);
    expect(intent.problems).to.deep.equal([]);
  });

  for (const value of ['yes', 'True', '1', '', 'true\n']) {
    it(`InvalidAccessLabel: ${JSON.stringify(value)} does not grant access`, () => {
      const intent = evaluate({ [`access.${D}/postgres`]: value });
      expect(intent.access).to.deep.equal([]);
      expect(intent.problems.map((p) => p.reason)).to.deep.equal(['InvalidAccessLabel']);
    });
  }

  it('enforcement: disabled turns on the escape hatch; enabled or absent is enforced', () => {
    expect(evaluate({ [`${D}/enforcement`]: 'disabled' }).enforcementDisabled).to.equal(true);
    expect(evaluate({ [`${D}/enforcement`]: 'enabled' }).enforcementDisabled).to.equal(false);
    expect(evaluate({}).enforcementDisabled).to.equal(false);
  });

  for (const value of ['Disabled', 'off', 'false', '']) {
    it(`InvalidEnforcementLabel: ${JSON.stringify(value)} keeps the namespace enforced`, () => {
      const intent = evaluate({ [`${D}/enforcement`]: value });
      expect(intent.enforcementDisabled).to.equal(false);
      expect(intent.problems.map((p) => p.reason)).to.deep.equal(['InvalidEnforcementLabel']);
    });
  }

  it('ProtectedNamespace: a default protected namespace with a profile gets nothing and one problem', () => {
    const intent = evaluate({ [`${D}/profile`]: 'standard', [`access.${D}/postgres`]: 'true' }, 'kube-system');
    expect(intent.protected).to.equal(true);
    expect(intent.profile).to.deep.equal({ state: 'none' });
    expect(intent.access).to.deep.equal([]);
    expect(intent.problems.map((p) => p.reason)).to.deep.equal(['ProtectedNamespace']);
  });

  it('the operator namespace and namespaces labelled platform=true are protected too', () => {
    expect(evaluate({ [`${D}/profile`]: 'standard' }, 'netpol-profiles').protected).to.equal(true);
    const platform = evaluate({ [`${D}/platform`]: 'true', [`${D}/profile`]: 'standard' }, 'monitoring');
    expect(platform.protected).to.equal(true);
    expect(platform.problems.map((p) => p.reason)).to.deep.equal(['ProtectedNamespace']);
    expect(evaluate({ [`${D}/platform`]: 'false', [`${D}/profile`]: 'standard' }, 'monitoring').protected).to.equal(false);
  });

  it('a protected namespace without profile or access labels has no problem', () => {
    expect(evaluate({}, 'kube-public').problems).to.deep.equal([]);
  });

  it('honours a custom label domain and protected list', () => {
    const custom = makeRenderConfig({ labelDomain: 'netpol.example.com', protectedNamespaces: ['infra'], operatorNamespace: 'ops' });
    const intent = evaluateNamespace('app', { 'netpol.example.com/profile': 'standard', [`${D}/profile`]: 'isolated' }, catalog, custom);
    expect(intent.profile).to.deep.equal({ state: 'valid', name: 'standard' });
    expect(evaluateNamespace('infra', { 'netpol.example.com/profile': 'standard' }, catalog, custom).protected).to.equal(true);
    expect(evaluateNamespace('ops', {}, catalog, custom).protected).to.equal(true);
    expect(evaluateNamespace('kube-system', {}, catalog, custom).protected).to.equal(false);
  });

  it('every reason code is produced by some label', () => {
    const produced = new Set<string>();
    for (const labels of <Array<Record<string, string>>>[
      { [`${D}/profile`]: 'nope' },
      { [`${D}/profile`]: 'No!' },
      { [`access.${D}/nope`]: 'true' },
      { [`access.${D}/postgres`]: 'yes' },
      { [`${D}/enforcement`]: 'off' },
    ]) {
      for (const problem of evaluate(labels).problems) produced.add(problem.reason);
    }
    for (const problem of evaluate({ [`${D}/profile`]: 'standard' }, 'kube-system').problems) produced.add(problem.reason);
    expect([...produced].sort()).to.deep.equal([...LABEL_PROBLEM_REASONS].sort());
  });
});
