// Whether an operator is leading, read from its leader election Lease. Without a leader nothing
// repairs drift or records escape-hatch times, so status treats that as a finding.

import { LEASE_NAME } from '../config.js';
import { LEASE_MODE_ANNOTATION, type Lease } from '../kube/leader.js';
import { humanDuration } from '../reconcile/escape-hatch.js';
import type { OperatorStatus } from './report.js';

export function operatorStatus(lease: Lease | undefined, operatorNamespace: string, nowMs: number): { status: OperatorStatus; problem?: string } {
  const where = `${operatorNamespace}/${LEASE_NAME}`;
  const status: OperatorStatus = {
    lease: where,
    leaseExists: lease !== undefined,
    holder: null,
    renewTime: null,
    renewedSecondsAgo: null,
    leaseDurationSeconds: null,
    leading: false,
    mode: null,
  };
  if (!lease) return { status, problem: `Lease ${where} does not exist (is the operator installed, in namespace ${operatorNamespace}, with leader election on?)` };
  const spec = lease.spec ?? {};
  const mode = lease.metadata?.annotations?.[LEASE_MODE_ANNOTATION];
  status.mode = mode === 'enforce' || mode === 'dry-run' ? mode : null;
  status.holder = spec.holderIdentity ? spec.holderIdentity : null;
  status.leaseDurationSeconds = typeof spec.leaseDurationSeconds === 'number' ? spec.leaseDurationSeconds : null;
  const renewed = spec.renewTime ? Date.parse(spec.renewTime) : NaN;
  if (Number.isFinite(renewed)) {
    status.renewTime = spec.renewTime!;
    // The operator's clock and ours may disagree a little; a renewal "in the future" is just now.
    status.renewedSecondsAgo = Math.max(0, Math.floor((nowMs - renewed) / 1000));
  }
  if (status.holder === null) return { status, problem: `Lease ${where} has no holder (the last leader released it)` };
  if (status.renewedSecondsAgo === null || status.leaseDurationSeconds === null) {
    return { status, problem: `Lease ${where} held by ${status.holder} has no renew time or duration` };
  }
  if (nowMs - renewed > status.leaseDurationSeconds * 1000) {
    return {
      status,
      problem: `Lease ${where} was last renewed by ${status.holder} ${humanDuration(status.renewedSecondsAgo)} ago, longer than its ${status.leaseDurationSeconds}s duration`,
    };
  }
  status.leading = true;
  return { status };
}
