// Decoding of Kubernetes' protobuf request bodies for the built-in kinds kubectl's imperative
// commands send that way (`kubectl create namespace|configmap|serviceaccount|role|...`).
// Responses stay JSON: those clients accept it as well.
import { badRequest, unsupportedMediaType } from './errors.js';
import { formatTime } from './builtins.js';

type Scalar = 'string' | 'bytes' | 'bool' | 'int32' | 'int64' | 'time' | 'microtime';
type FieldType = Scalar | Message | { map: 'string' | 'bytes' };
interface Field {
  name: string;
  type: FieldType;
  repeated?: boolean;
}
interface Message {
  fields: Record<number, Field>;
}

const msg = (fields: Record<number, Field>): Message => ({ fields });
const f = (name: string, type: FieldType, repeated = false): Field => ({ name, type, repeated });

const ownerReference = msg({ 1: f('kind', 'string'), 3: f('name', 'string'), 4: f('uid', 'string'), 5: f('apiVersion', 'string'), 6: f('controller', 'bool'), 7: f('blockOwnerDeletion', 'bool') });
const objectMeta = msg({
  1: f('name', 'string'),
  2: f('generateName', 'string'),
  3: f('namespace', 'string'),
  5: f('uid', 'string'),
  6: f('resourceVersion', 'string'),
  7: f('generation', 'int64'),
  8: f('creationTimestamp', 'time'),
  9: f('deletionTimestamp', 'time'),
  10: f('deletionGracePeriodSeconds', 'int64'),
  11: f('labels', { map: 'string' }),
  12: f('annotations', { map: 'string' }),
  13: f('ownerReferences', ownerReference, true),
  14: f('finalizers', 'string', true),
});
const objectReference = msg({
  1: f('kind', 'string'),
  2: f('namespace', 'string'),
  3: f('name', 'string'),
  4: f('uid', 'string'),
  5: f('apiVersion', 'string'),
  6: f('resourceVersion', 'string'),
  7: f('fieldPath', 'string'),
});
const labelSelector = msg({
  1: f('matchLabels', { map: 'string' }),
  2: f('matchExpressions', msg({ 1: f('key', 'string'), 2: f('operator', 'string'), 3: f('values', 'string', true) }), true),
});
const policyRule = msg({
  1: f('verbs', 'string', true),
  2: f('apiGroups', 'string', true),
  3: f('resources', 'string', true),
  4: f('resourceNames', 'string', true),
  5: f('nonResourceURLs', 'string', true),
});
const subject = msg({ 1: f('kind', 'string'), 2: f('apiGroup', 'string'), 3: f('name', 'string'), 4: f('namespace', 'string') });
const roleRef = msg({ 1: f('apiGroup', 'string'), 2: f('kind', 'string'), 3: f('name', 'string') });

const resourceAttributes = msg({
  1: f('namespace', 'string'),
  2: f('verb', 'string'),
  3: f('group', 'string'),
  4: f('version', 'string'),
  5: f('resource', 'string'),
  6: f('subresource', 'string'),
  7: f('name', 'string'),
});
const nonResourceAttributes = msg({ 1: f('path', 'string'), 2: f('verb', 'string') });

/** Messages by `apiVersion/kind` (field numbers from the Kubernetes generated.proto files). */
const KINDS: Record<string, Message> = {
  'v1/Namespace': msg({ 1: f('metadata', objectMeta), 2: f('spec', msg({ 1: f('finalizers', 'string', true) })) }),
  'v1/ConfigMap': msg({ 1: f('metadata', objectMeta), 2: f('data', { map: 'string' }), 3: f('binaryData', { map: 'bytes' }), 4: f('immutable', 'bool') }),
  'v1/ServiceAccount': msg({
    1: f('metadata', objectMeta),
    2: f('secrets', objectReference, true),
    3: f('imagePullSecrets', msg({ 1: f('name', 'string') }), true),
    4: f('automountServiceAccountToken', 'bool'),
  }),
  'v1/Event': msg({
    1: f('metadata', objectMeta),
    2: f('involvedObject', objectReference),
    3: f('reason', 'string'),
    4: f('message', 'string'),
    5: f('source', msg({ 1: f('component', 'string'), 2: f('host', 'string') })),
    6: f('firstTimestamp', 'time'),
    7: f('lastTimestamp', 'time'),
    8: f('count', 'int32'),
    9: f('type', 'string'),
    10: f('eventTime', 'microtime'),
    11: f('series', msg({ 1: f('count', 'int32'), 2: f('lastObservedTime', 'microtime') })),
    12: f('action', 'string'),
    13: f('related', objectReference),
    14: f('reportingComponent', 'string'),
    15: f('reportingInstance', 'string'),
  }),
  'coordination.k8s.io/v1/Lease': msg({
    1: f('metadata', objectMeta),
    2: f(
      'spec',
      msg({
        1: f('holderIdentity', 'string'),
        2: f('leaseDurationSeconds', 'int32'),
        3: f('acquireTime', 'microtime'),
        4: f('renewTime', 'microtime'),
        5: f('leaseTransitions', 'int32'),
        6: f('strategy', 'string'),
        7: f('preferredHolder', 'string'),
      }),
    ),
  }),
  'authorization.k8s.io/v1/SelfSubjectAccessReview': msg({
    1: f('metadata', objectMeta),
    2: f('spec', msg({ 1: f('resourceAttributes', resourceAttributes), 2: f('nonResourceAttributes', nonResourceAttributes) })),
  }),
  'authorization.k8s.io/v1/SubjectAccessReview': msg({
    1: f('metadata', objectMeta),
    2: f(
      'spec',
      msg({
        1: f('resourceAttributes', resourceAttributes),
        2: f('nonResourceAttributes', nonResourceAttributes),
        3: f('user', 'string'),
        4: f('groups', 'string', true),
        6: f('uid', 'string'),
      }),
    ),
  }),
  'rbac.authorization.k8s.io/v1/Role': msg({ 1: f('metadata', objectMeta), 2: f('rules', policyRule, true) }),
  'rbac.authorization.k8s.io/v1/ClusterRole': msg({
    1: f('metadata', objectMeta),
    2: f('rules', policyRule, true),
    3: f('aggregationRule', msg({ 1: f('clusterRoleSelectors', labelSelector, true) })),
  }),
  'rbac.authorization.k8s.io/v1/RoleBinding': msg({ 1: f('metadata', objectMeta), 2: f('subjects', subject, true), 3: f('roleRef', roleRef) }),
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': msg({ 1: f('metadata', objectMeta), 2: f('subjects', subject, true), 3: f('roleRef', roleRef) }),
};

const unknownEnvelope = msg({
  1: f('typeMeta', msg({ 1: f('apiVersion', 'string'), 2: f('kind', 'string') })),
  2: f('raw', 'bytes'),
  3: f('contentEncoding', 'string'),
  4: f('contentType', 'string'),
});

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length || shift > 63n) throw badRequest('protobuf: truncated varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  }

  bytes(): Buffer {
    const len = Number(this.varint());
    if (len < 0 || this.pos + len > this.buf.length) throw badRequest('protobuf: truncated field');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw badRequest(`protobuf: unsupported wire type ${wireType}`);
    if (this.pos > this.buf.length) throw badRequest('protobuf: truncated field');
  }
}

function toSigned(v: bigint, bits: 32 | 64): number {
  return Number(BigInt.asIntN(bits, v));
}

function decodeTime(buf: Buffer, micro: boolean): string | undefined {
  const r = new Reader(buf);
  let seconds = 0n;
  let nanos = 0;
  while (!r.done()) {
    const key = Number(r.varint());
    if (key >> 3 === 1 && (key & 7) === 0) seconds = BigInt.asIntN(64, r.varint());
    else if (key >> 3 === 2 && (key & 7) === 0) nanos = toSigned(r.varint(), 32);
    else r.skip(key & 7);
  }
  if (seconds === 0n && nanos === 0) return undefined;
  const fraction = String(nanos).padStart(9, '0').slice(0, 6);
  return formatTime(Number(seconds) * 1000, micro, fraction);
}

function decodeMessage(buf: Buffer, message: Message): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const r = new Reader(buf);
  while (!r.done()) {
    const key = Number(r.varint());
    const field = message.fields[key >> 3];
    const wireType = key & 7;
    if (!field) {
      r.skip(wireType);
      continue;
    }
    const value = decodeField(r, field, wireType);
    // Go always encodes plain strings; JSON leaves empty ones out (omitempty).
    if (value === undefined || (value === '' && !field.repeated)) continue;
    if (typeof field.type === 'object' && 'map' in field.type) {
      const [k, v] = value as [string, unknown];
      out[field.name] = { ...((out[field.name] as Record<string, unknown>) ?? {}), [k]: v };
    } else if (field.repeated) {
      out[field.name] = [...((out[field.name] as unknown[]) ?? []), value];
    } else {
      out[field.name] = value;
    }
  }
  return out;
}

function decodeField(r: Reader, field: Field, wireType: number): unknown {
  const type = field.type;
  if (typeof type === 'object') {
    if (wireType !== 2) throw badRequest(`protobuf: field ${field.name} has wire type ${wireType}`);
    const buf = r.bytes();
    if ('map' in type) {
      const entry = decodeMessage(buf, msg({ 1: f('key', 'string'), 2: f('value', type.map) }));
      return [String(entry.key ?? ''), entry.value ?? ''];
    }
    return decodeMessage(buf, type);
  }
  switch (type) {
    case 'string':
      return r.bytes().toString('utf8');
    case 'bytes':
      return r.bytes().toString('base64');
    case 'bool':
      return r.varint() !== 0n;
    case 'int32':
      return toSigned(r.varint(), 32);
    case 'int64':
      return toSigned(r.varint(), 64);
    case 'time':
      return decodeTime(r.bytes(), false);
    case 'microtime':
      return decodeTime(r.bytes(), true);
  }
}

/** Decodes a `application/vnd.kubernetes.protobuf` body into the JSON object it stands for. */
export function decodeKubeProtobuf(body: Buffer): Record<string, unknown> {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw badRequest('provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]');
  }
  const envelope = decodeMessage(body.subarray(MAGIC.length), unknownEnvelope);
  const typeMeta = (envelope.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const message = KINDS[`${typeMeta.apiVersion ?? ''}/${typeMeta.kind ?? ''}`];
  if (!message) throw unsupportedMediaType(['application/json', 'application/yaml']);
  const raw = Buffer.from(String(envelope.raw ?? ''), 'base64');
  return { apiVersion: typeMeta.apiVersion, kind: typeMeta.kind, ...decodeMessage(raw, message) };
}
