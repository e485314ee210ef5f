// Validator for Kubernetes structural OpenAPI v3 schemas (CRD `openAPIV3Schema`), with the API
// server's wording of errors: catalog validation checks rules against Cilium's schemas and objects
// against our CRDs with it. `pattern`s are Go (RE2) regular expressions and are compiled by an RE2
// engine, never translated to JavaScript's. CEL rules (`x-kubernetes-validations`) are checked only
// when the caller brings a CEL implementation (the test API server does).
import { parseRfc3339 } from './time.js';
import { isIPv4, isIPv6 } from 'node:net';
import { RE2JS } from 're2js';
import { canonicalJson, jsonEqual } from '../render/canonical.js';
import { isRecord } from './types.js';

/** The subset of JSONSchemaProps that Kubernetes accepts in a structural CRD schema. */
export interface JsonSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  format?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  not?: JsonSchema;
  nullable?: boolean;
  default?: unknown;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: ValidationRule[];
}

/** A CEL rule of `x-kubernetes-validations`. */
export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  fieldPath?: string;
  optionalOldSelf?: boolean;
}

export interface CrdPrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  format?: string;
  priority?: number;
}

export interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  deprecated?: boolean;
  schema?: { openAPIV3Schema?: JsonSchema };
  subresources?: { status?: Record<string, never>; scale?: Record<string, unknown> };
  additionalPrinterColumns?: CrdPrinterColumn[];
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; [key: string]: unknown };
  spec: {
    group: string;
    names: {
      kind: string;
      plural: string;
      singular?: string;
      listKind?: string;
      shortNames?: string[];
      categories?: string[];
    };
    scope: 'Namespaced' | 'Cluster';
    versions: CrdVersion[];
    [key: string]: unknown;
  };
  status?: Record<string, unknown>;
}

export interface SchemaError {
  /** Field path as the API server prints it, e.g. `spec.ingress[0].toPorts[0].ports[0].port`. */
  path: string;
  /** The server's wording after the path, e.g. `Required value` or `Invalid value: 99999: ...`. */
  message: string;
}

export interface ValidateOptions {
  /** `error` (default) reports fields the schema does not declare; the API server prunes them instead. */
  unknownFields?: 'error' | 'ignore';
  /** Evaluates `x-kubernetes-validations` rules; without it they are not checked. */
  cel?: CelRuleCompiler;
}

/** A compiled `x-kubernetes-validations` rule. Both functions throw on a runtime error. */
export interface CelRuleProgram {
  holds(self: unknown, oldSelf?: unknown): boolean;
  /** The rule's `messageExpression`, when it has one (undefined when it yields no string). */
  message?: (self: unknown, oldSelf?: unknown) => string | undefined;
}

/** A CEL implementation for `x-kubernetes-validations`; `compile` throws for a rule it cannot compile. */
export interface CelRuleCompiler {
  compile(rule: string, messageExpression?: string): CelRuleProgram;
}

/** Whether a rule is a transition rule (uses `oldSelf`): those apply to updates only. */
export function isTransitionRule(rule: string): boolean {
  return /\boldSelf\b/.test(rule);
}

/** `path: message`, the form the API server joins into a 422 message. */
export function formatSchemaError(error: SchemaError): string {
  return error.path === '' ? error.message : `${error.path}: ${error.message}`;
}

// ---------------------------------------------------------------------------------------------
// Paths are built lazily (a linked list) so that valid objects, the common case, allocate no strings.

/** A field path, built lazily from the leaf up. */
export interface PathNode {
  parent: PathNode | null;
  key: string | number;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** The path as the API server prints it, e.g. `spec.ingress[0].toPorts`. */
export function pathString(node: PathNode | null): string {
  const parts: (string | number)[] = [];
  for (let n = node; n !== null; n = n.parent) parts.push(n.key);
  let out = '';
  for (let i = parts.length - 1; i >= 0; i--) {
    const key = parts[i]!;
    if (typeof key === 'number') out += `[${key}]`;
    else if (out === '') out = key;
    else out += IDENTIFIER.test(key) ? `.${key}` : `[${key}]`;
  }
  return out;
}

/** Go-ish rendering of a value inside an error message: strings quoted, scalars bare, the rest as JSON. */
function showValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return 'null';
  return JSON.stringify(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

// ---------------------------------------------------------------------------------------------
// Compilation: each schema node becomes one closure, cached per schema object.

interface Context {
  errors: SchemaError[];
  unknownFields: boolean;
  cel?: CelRuleCompiler;
  /** CEL rule failures, kept apart: the server only reports them when nothing else blocks. */
  celErrors: SchemaError[];
  celRulesSeen: boolean;
}

type Check = (value: unknown, path: PathNode | null, ctx: Context) => void;

interface Compiled {
  check: Check;
}

const compiled = new WeakMap<object, Compiled>();

type Matcher = (value: string) => boolean;

/**
 * A `pattern` as the API server applies it: Go's regexp (RE2 syntax, so `\\PC`, `\\z` and the rest
 * mean what they mean in Go; linear time, so no input makes it backtrack), matched anywhere in the
 * value unless the pattern anchors itself. Undefined for a pattern RE2 cannot compile: the server
 * refuses such a CRD, so there is nothing to check against.
 */
function compilePattern(pattern: string): Matcher | undefined {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(pattern);
  } catch {
    return undefined;
  }
  return (value) => compiled.matcher(value).find();
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const UUID = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$/;
const DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

function isCidr(value: string): boolean {
  const slash = value.indexOf('/');
  if (slash < 0) return false;
  const ip = value.slice(0, slash);
  const bits = value.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits)) return false;
  const n = Number(bits);
  if (isIPv4(ip)) return n <= 32;
  if (isIPv6(ip)) return n <= 128;
  return false;
}

/** String formats the server checks; formats it does not know are accepted, as the real server does. */
const STRING_FORMATS: Record<string, (s: string) => boolean> = {
  // The OpenAPI `date-time` format also takes a space between date and time.
  'date-time': (s) => parseRfc3339(s.replace(' ', 'T')) !== undefined,
  datetime: (s) => parseRfc3339(s.replace(' ', 'T')) !== undefined,
  date: (s) => DATE.test(s) && !Number.isNaN(Date.parse(s)),
  cidr: isCidr,
  ipv4: (s) => isIPv4(s),
  ipv6: (s) => isIPv6(s),
  uuid: (s) => UUID.test(s),
  byte: (s) => BASE64.test(s),
  hostname: (s) => HOSTNAME.test(s),
  duration: (s) => DURATION.test(s),
};

const INT_RANGES: Record<string, [number, number]> = {
  int32: [-2147483648, 2147483647],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

function compile(schema: JsonSchema, root = false): Compiled {
  const cached = compiled.get(schema);
  if (cached && !root) return cached;
  const holder: Compiled = { check: () => undefined };
  // Registered before building children so self-referencing schemas terminate.
  if (!root) compiled.set(schema, holder);
  holder.check = buildCheck(schema, root);
  return holder;
}

function buildCheck(schema: JsonSchema, root: boolean): Check {
  const checks: Check[] = [];
  const type = schema.type;
  const intOrString = schema['x-kubernetes-int-or-string'] === true;
  const nullable = schema.nullable === true;

  if (intOrString) {
    checks.push((value, path, ctx) => {
      if (typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value))) return;
      const t = typeName(value);
      ctx.errors.push({
        path: pathString(path),
        message: `Invalid value: "${t}": ${pathString(path)} in body must be of type integer,string: "${t}"`,
      });
    });
  } else if (type !== undefined) {
    checks.push(typeCheck(type));
  }

  if (schema.enum !== undefined) checks.push(enumCheck(schema.enum));
  if (type === 'string' || intOrString || type === undefined) addStringChecks(schema, checks);
  if (type === 'integer' || type === 'number' || intOrString || type === undefined) addNumberChecks(schema, checks);
  if (type === 'array' || type === undefined) addArrayChecks(schema, checks);
  if (type === 'object' || type === undefined) addObjectChecks(schema, checks, root);
  addCompositionChecks(schema, checks);
  addCelChecks(schema, checks);

  const run: Check =
    checks.length === 1
      ? checks[0]!
      : (value, path, ctx) => {
          for (const c of checks) {
            const before = ctx.errors.length;
            c(value, path, ctx);
            // A value of the wrong type gets only the type error, as the real server reports it.
            if (c === checks[0] && ctx.errors.length > before && type !== undefined) return;
          }
        };
  return (value, path, ctx) => {
    if (value === null && nullable) return;
    run(value, path, ctx);
  };
}

function typeCheck(type: string): Check {
  const ok: (v: unknown) => boolean =
    type === 'object'
      ? isRecord
      : type === 'array'
        ? Array.isArray
        : type === 'string'
          ? (v) => typeof v === 'string'
          : type === 'integer'
            ? (v) => typeof v === 'number' && Number.isInteger(v)
            : type === 'number'
              ? (v) => typeof v === 'number' && Number.isFinite(v)
              : type === 'boolean'
                ? (v) => typeof v === 'boolean'
                : () => true;
  return (value, path, ctx) => {
    if (ok(value)) return;
    const p = pathString(path);
    const t = typeName(value);
    ctx.errors.push({ path: p, message: `Invalid value: "${t}": ${p} in body must be of type ${type}: "${t}"` });
  };
}

function enumCheck(values: unknown[]): Check {
  const scalars = new Set(values.filter((v) => typeof v !== 'object' || v === null));
  const objects = values.filter((v) => typeof v === 'object' && v !== null);
  return (value, path, ctx) => {
    if (scalars.has(value)) return;
    if (objects.some((o) => jsonEqual(o, value))) return;
    ctx.errors.push({
      path: pathString(path),
      message: `Unsupported value: ${showValue(value)}: supported values: ${values.map(showValue).join(', ')}`,
    });
  };
}

function addStringChecks(schema: JsonSchema, checks: Check[]): void {
  const { maxLength, minLength, pattern, format } = schema;
  if (maxLength !== undefined) {
    checks.push((v, path, ctx) => {
      if (typeof v === 'string' && [...v].length > maxLength) {
        ctx.errors.push({ path: pathString(path), message: `Too long: may not be more than ${maxLength} bytes` });
      }
    });
  }
  if (minLength !== undefined) {
    checks.push((v, path, ctx) => {
      if (typeof v === 'string' && [...v].length < minLength) {
        const p = pathString(path);
        ctx.errors.push({
          path: p,
          message: `Invalid value: ${showValue(v)}: ${p} in body should be at least ${minLength} chars long`,
        });
      }
    });
  }
  if (pattern !== undefined) {
    const matches = compilePattern(pattern);
    if (matches !== undefined) {
      checks.push((v, path, ctx) => {
        if (typeof v === 'string' && !matches(v)) {
          const p = pathString(path);
          ctx.errors.push({ path: p, message: `Invalid value: ${showValue(v)}: ${p} in body should match '${pattern}'` });
        }
      });
    }
  }
  if (format !== undefined) {
    const stringFormat = STRING_FORMATS[format];
    if (stringFormat) {
      checks.push((v, path, ctx) => {
        if (typeof v === 'string' && !stringFormat(v)) {
          const p = pathString(path);
          ctx.errors.push({ path: p, message: `Invalid value: ${showValue(v)}: ${p} in body must be of type ${format}: ${showValue(v)}` });
        }
      });
    }
  }
}

function addNumberChecks(schema: JsonSchema, checks: Check[]): void {
  const { minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf, format } = schema;
  if (minimum !== undefined) {
    checks.push((v, path, ctx) => {
      if (typeof v !== 'number') return;
      if (exclusiveMinimum ? v <= minimum : v < minimum) {
        const p = pathString(path);
        const rel = exclusiveMinimum ? 'greater than' : 'greater than or equal to';
        ctx.errors.push({ path: p, message: `Invalid value: ${v}: ${p} in body should be ${rel} ${minimum}` });
      }
    });
  }
  if (maximum !== undefined) {
    checks.push((v, path, ctx) => {
      if (typeof v !== 'number') return;
      if (exclusiveMaximum ? v >= maximum : v > maximum) {
        const p = pathString(path);
        const rel = exclusiveMaximum ? 'less than' : 'less than or equal to';
        ctx.errors.push({ path: p, message: `Invalid value: ${v}: ${p} in body should be ${rel} ${maximum}` });
      }
    });
  }
  if (multipleOf !== undefined && multipleOf > 0) {
    checks.push((v, path, ctx) => {
      if (typeof v === 'number' && !Number.isInteger(v / multipleOf)) {
        const p = pathString(path);
        ctx.errors.push({ path: p, message: `Invalid value: ${v}: ${p} in body should be a multiple of ${multipleOf}` });
      }
    });
  }
  const range = format !== undefined ? INT_RANGES[format] : undefined;
  if (range) {
    checks.push((v, path, ctx) => {
      if (typeof v === 'number' && (v < range[0] || v > range[1])) {
        const p = pathString(path);
        ctx.errors.push({ path: p, message: `Invalid value: ${v}: ${p} in body must be of type ${format}: ${v}` });
      }
    });
  }
}

function addArrayChecks(schema: JsonSchema, checks: Check[]): void {
  const { maxItems, minItems, items } = schema;
  const listType = schema['x-kubernetes-list-type'];
  const mapKeys = schema['x-kubernetes-list-map-keys'];
  if (maxItems !== undefined) {
    checks.push((v, path, ctx) => {
      if (Array.isArray(v) && v.length > maxItems) {
        ctx.errors.push({ path: pathString(path), message: `Too many: ${v.length}: must have at most ${maxItems} items` });
      }
    });
  }
  if (minItems !== undefined) {
    checks.push((v, path, ctx) => {
      if (Array.isArray(v) && v.length < minItems) {
        const p = pathString(path);
        ctx.errors.push({ path: p, message: `Invalid value: ${v.length}: ${p} in body should have at least ${minItems} items` });
      }
    });
  }
  if (schema.uniqueItems === true || listType === 'set') {
    checks.push((v, path, ctx) => {
      if (!Array.isArray(v)) return;
      const seen = new Set<string>();
      v.forEach((item, i) => {
        const key = canonicalJson(item);
        if (seen.has(key)) ctx.errors.push({ path: pathString({ parent: path, key: i }), message: `Duplicate value: ${showValue(item)}` });
        seen.add(key);
      });
    });
  }
  if (listType === 'map' && mapKeys && mapKeys.length > 0) {
    checks.push((v, path, ctx) => {
      if (!Array.isArray(v)) return;
      const seen = new Set<string>();
      v.forEach((item, i) => {
        if (!isRecord(item)) return;
        const keyValues: Record<string, unknown> = {};
        for (const k of mapKeys) keyValues[k] = item[k];
        const key = canonicalJson(keyValues);
        if (seen.has(key)) ctx.errors.push({ path: pathString({ parent: path, key: i }), message: `Duplicate value: ${showValue(keyValues)}` });
        seen.add(key);
      });
    });
  }
  if (items !== undefined) {
    const itemCheck = compile(items);
    checks.push((v, path, ctx) => {
      if (!Array.isArray(v)) return;
      for (let i = 0; i < v.length; i++) itemCheck.check(v[i], { parent: path, key: i }, ctx);
    });
  }
}

// ObjectMeta is handled by the API server itself, not the CRD schema.
/** Fields at the root of an object (and of an embedded resource) that the server checks itself. */
export const ROOT_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

function addObjectChecks(schema: JsonSchema, checks: Check[], root: boolean): void {
  const properties = schema.properties ?? {};
  const propertyNames = Object.keys(properties);
  const propertyChecks = new Map<string, Compiled>();
  for (const name of propertyNames) {
    const sub = properties[name]!;
    // The root `metadata` schema is just `type: object`; only the server's ObjectMeta rules apply.
    if ((root || schema['x-kubernetes-embedded-resource']) && name === 'metadata') continue;
    propertyChecks.set(name, compile(sub));
  }
  const required = schema.required ?? [];
  const additional = schema.additionalProperties;
  const additionalCheck = isRecord(additional) ? compile(additional as JsonSchema) : undefined;
  const preserve =
    schema['x-kubernetes-preserve-unknown-fields'] === true || additional === true || schema.type === undefined;
  const embedded = schema['x-kubernetes-embedded-resource'] === true;
  const { maxProperties, minProperties } = schema;

  if (required.length > 0) {
    checks.push((v, path, ctx) => {
      if (!isRecord(v)) return;
      for (const name of required) {
        if (v[name] === undefined) ctx.errors.push({ path: pathString({ parent: path, key: name }), message: 'Required value' });
      }
    });
  }
  if (embedded) {
    checks.push((v, path, ctx) => {
      if (!isRecord(v)) return;
      for (const name of ['apiVersion', 'kind']) {
        if (typeof v[name] !== 'string' || v[name] === '') {
          ctx.errors.push({ path: pathString({ parent: path, key: name }), message: 'Required value: must not be empty' });
        }
      }
    });
  }
  if (maxProperties !== undefined || minProperties !== undefined) {
    checks.push((v, path, ctx) => {
      if (!isRecord(v)) return;
      const n = Object.keys(v).length;
      if (maxProperties !== undefined && n > maxProperties) {
        ctx.errors.push({ path: pathString(path), message: `Too many: ${n}: must have at most ${maxProperties} items` });
      }
      if (minProperties !== undefined && n < minProperties) {
        const p = pathString(path);
        ctx.errors.push({ path: p, message: `Invalid value: ${n}: ${p} in body should have at least ${minProperties} properties` });
      }
    });
  }
  if (propertyChecks.size > 0 || additionalCheck || !preserve) {
    checks.push((v, path, ctx) => {
      if (!isRecord(v)) return;
      for (const key in v) {
        if (!Object.prototype.hasOwnProperty.call(v, key)) continue;
        const value = v[key];
        const known = propertyChecks.get(key);
        if (known) {
          if (value !== undefined) known.check(value, { parent: path, key }, ctx);
        } else if (additionalCheck) {
          additionalCheck.check(value, { parent: path, key }, ctx);
        } else if (
          ctx.unknownFields &&
          !preserve &&
          !((root || embedded) && ROOT_FIELDS.has(key)) &&
          !(Object.prototype.hasOwnProperty.call(properties, key))
        ) {
          ctx.errors.push({ path: pathString({ parent: path, key }), message: 'field not declared in schema' });
        }
      }
    });
  }
}

function addCompositionChecks(schema: JsonSchema, checks: Check[]): void {
  // Branches are value validations only (structural schemas declare fields in `properties`),
  // so unknown fields are never reported from inside them.
  const branch = (s: JsonSchema) => compile(s);
  const runBranch = (c: Compiled, value: unknown, path: PathNode | null): SchemaError[] => {
    const ctx: Context = { errors: [], unknownFields: false, celErrors: [], celRulesSeen: false };
    c.check(value, path, ctx);
    return ctx.errors;
  };
  const kindOf = (value: unknown) => JSON.stringify(typeName(value) === 'integer' ? 'integer' : typeName(value));

  if (schema.allOf) {
    const all = schema.allOf.map(branch);
    checks.push((v, path, ctx) => {
      for (const c of all) ctx.errors.push(...runBranch(c, v, path));
    });
  }
  if (schema.anyOf) {
    const any = schema.anyOf.map(branch);
    checks.push((v, path, ctx) => {
      const failures: SchemaError[] = [];
      for (const c of any) {
        const errs = runBranch(c, v, path);
        if (errs.length === 0) return;
        failures.push(...errs);
      }
      const p = pathString(path);
      pushUnique(ctx.errors, failures);
      ctx.errors.push({ path: p, message: `Invalid value: ${kindOf(v)}: ${p} in body must validate at least one schema (anyOf)` });
    });
  }
  if (schema.oneOf) {
    const one = schema.oneOf.map(branch);
    checks.push((v, path, ctx) => {
      let valid = 0;
      const failures: SchemaError[] = [];
      for (const c of one) {
        const errs = runBranch(c, v, path);
        if (errs.length === 0) valid++;
        else failures.push(...errs);
      }
      if (valid === 1) return;
      const p = pathString(path);
      if (valid === 0) pushUnique(ctx.errors, failures);
      const found = valid === 0 ? 'Found none valid' : `Found ${valid} valid alternatives`;
      ctx.errors.push({
        path: p,
        message: `Invalid value: ${kindOf(v)}: ${p} in body must validate one and only one schema (oneOf). ${found}`,
      });
    });
  }
  if (schema.not) {
    const not = branch(schema.not);
    checks.push((v, path, ctx) => {
      if (runBranch(not, v, path).length === 0) {
        const p = pathString(path);
        ctx.errors.push({ path: p, message: `Invalid value: ${kindOf(v)}: ${p} in body must not validate the schema (not)` });
      }
    });
  }
}

const CEL_REASON_PREFIX: Record<string, string> = {
  FieldValueForbidden: 'Forbidden',
  FieldValueRequired: 'Required value',
  FieldValueDuplicate: 'Duplicate value',
};

/**
 * `x-kubernetes-validations`, evaluated by the caller's CEL implementation. Rules it cannot
 * compile (the test API server refuses such CRDs up front) and transition rules (`oldSelf`, which
 * needs the stored object) are skipped rather than guessed.
 */
function addCelChecks(schema: JsonSchema, checks: Check[]): void {
  for (const rule of schema['x-kubernetes-validations'] ?? []) {
    if (typeof rule?.rule !== 'string' || isTransitionRule(rule.rule)) continue;
    const extraPath = (rule.fieldPath ?? '').replace(/^\./, '');
    checks.push((v, path, ctx) => {
      if (!ctx.cel) return;
      let program: CelRuleProgram;
      try {
        program = ctx.cel.compile(rule.rule, rule.messageExpression || undefined);
      } catch {
        return;
      }
      ctx.celRulesSeen = true;
      let detail: string | undefined;
      try {
        if (!program.holds(v)) {
          let message: string | undefined;
          try {
            message = program.message?.(v)?.trim();
          } catch {
            // The server falls back to `message` when messageExpression fails.
          }
          detail = message || rule.message || `failed rule: ${rule.rule}`;
        }
      } catch (e) {
        detail = `${e instanceof Error ? e.message : String(e)} evaluating rule: ${rule.rule}`;
      }
      if (detail === undefined) return;
      const base = pathString(path);
      const p = extraPath === '' ? base : base === '' ? extraPath : `${base}.${extraPath}`;
      const prefix = rule.reason ? CEL_REASON_PREFIX[rule.reason] : undefined;
      const t = typeName(v) === 'integer' ? 'integer' : typeName(v);
      ctx.celErrors.push({ path: p, message: prefix ? `${prefix}: ${detail}` : `Invalid value: "${t}": ${detail}` });
    });
  }
}

function pushUnique(into: SchemaError[], errors: SchemaError[]): void {
  const seen = new Set(into.map((e) => `${e.path}\n${e.message}`));
  for (const e of errors) {
    const key = `${e.path}\n${e.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      into.push(e);
    }
  }
}

const rootCompiled = new WeakMap<object, Compiled>();

function compileRoot(schema: unknown): Compiled {
  if (!isRecord(schema)) throw new TypeError('schema must be an object (a CRD openAPIV3Schema)');
  let c = rootCompiled.get(schema);
  if (!c) {
    c = compile(schema as JsonSchema, true);
    rootCompiled.set(schema, c);
  }
  return c;
}

/**
 * Validates `value` (a whole custom resource, or any value when `schema` is a sub-schema) and
 * returns every problem found; an empty array means valid. `apiVersion`, `kind` and `metadata`
 * at the root are the server's business and are not checked against the schema.
 */
export function validateSchema(schema: unknown, value: unknown, options: ValidateOptions = {}): SchemaError[] {
  const ctx: Context = { errors: [], unknownFields: (options.unknownFields ?? 'error') === 'error', cel: options.cel, celErrors: [], celRulesSeen: false };
  compileRoot(schema).check(value, null, ctx);
  if (!ctx.celRulesSeen) return ctx.errors;
  // Like the API server: CEL rules only count when no type, enum, required or size error blocks them.
  if (ctx.errors.some(isBlocking)) {
    ctx.errors.push({ path: '', message: 'Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation' });
    return ctx.errors;
  }
  return [...ctx.errors, ...ctx.celErrors];
}

function isBlocking(e: SchemaError): boolean {
  return (
    e.message.startsWith('Unsupported value') ||
    e.message.startsWith('Required value') ||
    e.message.startsWith('Too long') ||
    e.message.startsWith('Too many') ||
    e.message.includes(' in body must be of type ')
  );
}

/** The `openAPIV3Schema` of `version`, or of the storage version (else the first served one). */
export function crdSchema(crd: CustomResourceDefinition, version?: string): JsonSchema {
  const versions = crd.spec.versions;
  const chosen =
    version !== undefined
      ? versions.find((v) => v.name === version)
      : (versions.find((v) => v.storage) ?? versions.find((v) => v.served));
  if (!chosen) throw new Error(`CRD ${crd.metadata.name} has no version ${version ?? '(storage)'}`);
  const schema = chosen.schema?.openAPIV3Schema;
  if (!schema) throw new Error(`CRD ${crd.metadata.name} version ${chosen.name} has no openAPIV3Schema`);
  return schema;
}
