// Kubernetes' CEL for the test API server: CRD `x-kubernetes-validations` rules and
// ValidatingAdmissionPolicy expressions, evaluated by a maintained CEL implementation
// (@marcbachmann/cel-js) with Kubernetes' value conventions (JSON integers are int64) and the
// parts of Kubernetes' CEL libraries this project's policies and tests use (the authorizer,
// list and regex functions). Nothing here ships: production code never evaluates CEL.
import { Environment, EvaluationError, ParseError, TypeError as CelTypeError, type ParseResult } from '@marcbachmann/cel-js';
import type { CelRuleCompiler, CelRuleProgram } from '../../src/kube/openapi.js';

/** An expression that does not parse or type-check; the message is the library's first line. */
export class CelCompileError extends Error {}

/** A runtime error (no such key, no such overload, a wrong result type). */
export class CelEvalError extends Error {}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

/**
 * JSON → CEL: integral numbers become `int` (BigInt), as Kubernetes decodes JSON integers to
 * int64; everything else maps one to one. Input is never modified.
 */
export function toCel(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(toCel);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toCel(v);
    return out;
  }
  return value;
}

/** CEL → JSON: `int` and `uint` back to numbers. */
export function fromCel(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(fromCel);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = fromCel(v);
    return out;
  }
  return value;
}

function firstLine(e: Error): string {
  const summary = (e as { summary?: unknown }).summary;
  const text = typeof summary === 'string' && summary !== '' ? summary : e.message;
  return text.split('\n')[0]!.trim();
}

/** Rethrows the library's errors as ours, with a one-line message. */
function celError(e: unknown): Error {
  if (e instanceof CelEvalError || e instanceof CelCompileError) return e;
  if (e instanceof EvaluationError) return new CelEvalError(firstLine(e));
  if (e instanceof ParseError || e instanceof CelTypeError) return new CelCompileError(firstLine(e));
  if (e instanceof Error) return new CelEvalError(e.message);
  return new CelEvalError(String(e));
}

// ---------------------------------------------------------------------------------------------
// Kubernetes' authorizer library (`authorizer.group(g).resource(r)...check(verb).allowed()`).

/** What the authorizer variable asks the server's authorizer: a resource or a non-resource request. */
export type AuthorizationQuery =
  | { kind: 'resource'; user: string; groups: string[]; group: string; resource: string; subresource: string; namespace: string; name: string; verb: string }
  | { kind: 'path'; user: string; groups: string[]; path: string; verb: string };

/** Answers an authorizer query: RBAC's decision and its reason. */
export type AuthorizeFn = (query: AuthorizationQuery) => { allowed: boolean; reason: string };

interface Subject {
  user: string;
  groups: string[];
  authorize: AuthorizeFn;
}

class CelAuthorizer {
  constructor(
    readonly subject: Subject,
    /** `authorizer.requestResource`: a ResourceCheck for the request's own resource. */
    readonly requestResource: CelResourceCheck | null,
  ) {}
}

class CelPathCheck {
  constructor(
    readonly subject: Subject,
    readonly path: string,
  ) {}
}

class CelGroupCheck {
  constructor(
    readonly subject: Subject,
    readonly group: string,
  ) {}
}

class CelResourceCheck {
  constructor(
    readonly subject: Subject,
    readonly group: string,
    readonly resource: string,
    readonly subresource = '',
    readonly namespace = '',
    readonly name = '',
  ) {}

  with(change: Partial<Pick<CelResourceCheck, 'subresource' | 'namespace' | 'name'>>): CelResourceCheck {
    return new CelResourceCheck(
      this.subject,
      this.group,
      this.resource,
      change.subresource ?? this.subresource,
      change.namespace ?? this.namespace,
      change.name ?? this.name,
    );
  }
}

class CelDecision {
  constructor(
    readonly allowed: boolean,
    readonly reason: string,
  ) {}
}

function decide(subject: Subject, query: AuthorizationQuery): CelDecision {
  const { allowed, reason } = subject.authorize(query);
  return new CelDecision(allowed, reason);
}

// ---------------------------------------------------------------------------------------------
// The environments.

function compare(a: unknown, b: unknown): number {
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if ((typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number')) return a < b ? -1 : a > b ? 1 : 0;
  throw new CelEvalError('no such overload: list elements are not comparable');
}

function celEqual(a: unknown, b: unknown): boolean {
  if (typeof a === 'bigint' || typeof b === 'bigint') return (typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number') && a == b;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => celEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && celEqual(a[k], b[k]));
  }
  return a === b;
}

function regex(pattern: string): RegExp {
  try {
    return new RegExp(pattern, 'u');
  } catch (e) {
    throw new CelEvalError(`invalid regular expression ${JSON.stringify(pattern)}: ${(e as Error).message}`);
  }
}

/** Kubernetes' list and regex libraries (the functions the base library lacks). */
function withKubernetesLibraries(env: Environment): Environment {
  return env
    .registerFunction('list.isSorted(): bool', (l: unknown[]) => l.every((x, i) => i === 0 || compare(l[i - 1], x) <= 0))
    .registerFunction('list.sum(): dyn', (l: unknown[]) => l.reduce<unknown>((acc, x) => (acc as bigint) + (x as bigint), l.length > 0 && typeof l[0] === 'number' ? 0 : 0n))
    .registerFunction('list.min(): dyn', (l: unknown[]) => {
      if (l.length === 0) throw new CelEvalError('min called on an empty list');
      return l.reduce((m, x) => (compare(x, m) < 0 ? x : m));
    })
    .registerFunction('list.max(): dyn', (l: unknown[]) => {
      if (l.length === 0) throw new CelEvalError('max called on an empty list');
      return l.reduce((m, x) => (compare(x, m) > 0 ? x : m));
    })
    .registerFunction('list.indexOf(dyn): int', (l: unknown[], x: unknown) => BigInt(l.findIndex((y) => celEqual(x, y))))
    .registerFunction('list.lastIndexOf(dyn): int', (l: unknown[], x: unknown) => {
      for (let i = l.length - 1; i >= 0; i--) if (celEqual(x, l[i])) return BigInt(i);
      return -1n;
    })
    .registerFunction('string.find(string): string', (s: string, p: string) => regex(p).exec(s)?.[0] ?? '')
    .registerFunction('string.findAll(string): list<string>', (s: string, p: string) => [...s.matchAll(new RegExp(regex(p).source, 'gu'))].map((m) => m[0]))
    .registerFunction('string.findAll(string, int): list<string>', (s: string, p: string, n: bigint) => {
      const all = [...s.matchAll(new RegExp(regex(p).source, 'gu'))].map((m) => m[0]);
      return n < 0n ? all : all.slice(0, Number(n));
    });
}

function withAuthorizer(env: Environment): Environment {
  return env
    .registerType('Authorizer', CelAuthorizer)
    .registerType('PathCheck', CelPathCheck)
    .registerType('GroupCheck', CelGroupCheck)
    .registerType('ResourceCheck', CelResourceCheck)
    .registerType('Decision', CelDecision)
    .registerFunction('Authorizer.path(string): PathCheck', (a: CelAuthorizer, path: string) => new CelPathCheck(a.subject, path))
    .registerFunction('Authorizer.group(string): GroupCheck', (a: CelAuthorizer, group: string) => new CelGroupCheck(a.subject, group))
    .registerFunction('Authorizer.serviceAccount(string, string): Authorizer', (a: CelAuthorizer, namespace: string, name: string) => {
      const subject: Subject = {
        user: `system:serviceaccount:${namespace}:${name}`,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
        authorize: a.subject.authorize,
      };
      return new CelAuthorizer(subject, null);
    })
    .registerFunction('PathCheck.check(string): Decision', (p: CelPathCheck, verb: string) =>
      decide(p.subject, { kind: 'path', user: p.subject.user, groups: p.subject.groups, path: p.path, verb }),
    )
    .registerFunction('GroupCheck.resource(string): ResourceCheck', (g: CelGroupCheck, resource: string) => new CelResourceCheck(g.subject, g.group, resource))
    .registerFunction('ResourceCheck.subresource(string): ResourceCheck', (r: CelResourceCheck, subresource: string) => r.with({ subresource }))
    .registerFunction('ResourceCheck.namespace(string): ResourceCheck', (r: CelResourceCheck, namespace: string) => r.with({ namespace }))
    .registerFunction('ResourceCheck.name(string): ResourceCheck', (r: CelResourceCheck, name: string) => r.with({ name }))
    .registerFunction('ResourceCheck.check(string): Decision', (r: CelResourceCheck, verb: string) =>
      decide(r.subject, {
        kind: 'resource',
        user: r.subject.user,
        groups: r.subject.groups,
        group: r.group,
        resource: r.resource,
        subresource: r.subresource,
        namespace: r.namespace,
        name: r.name,
        verb,
      }),
    )
    .registerFunction('Decision.allowed(): bool', (d: CelDecision) => d.allowed)
    .registerFunction('Decision.reason(): string', (d: CelDecision) => d.reason)
    .registerFunction('Decision.errored(): bool', () => false)
    .registerFunction('Decision.error(): string', () => '');
}

const OPTIONS = { homogeneousAggregateLiterals: false, enableOptionalTypes: true } as const;

const ruleEnvironment = withKubernetesLibraries(new Environment(OPTIONS).registerVariable('self', 'dyn').registerVariable('oldSelf', 'dyn'));

const admissionEnvironment = withAuthorizer(
  withKubernetesLibraries(
    new Environment(OPTIONS)
      .registerVariable('object', 'dyn')
      .registerVariable('oldObject', 'dyn')
      .registerVariable('request', 'dyn')
      .registerVariable('params', 'dyn')
      .registerVariable('namespaceObject', 'dyn')
      .registerVariable('variables', 'dyn'),
  ),
).registerVariable('authorizer', 'Authorizer');

type ResultType = 'bool' | 'string' | 'any';

function compileIn(env: Environment, expression: string, result: ResultType): ParseResult {
  let program: ParseResult;
  let checked;
  try {
    program = env.parse(expression);
    checked = program.check();
  } catch (e) {
    throw celError(e);
  }
  if (!checked.valid) throw new CelCompileError(checked.error ? firstLine(checked.error) : 'type check failed');
  if (result !== 'any' && checked.type !== result && checked.type !== 'dyn') {
    throw new CelCompileError(`must evaluate to ${result}, not ${checked.type}`);
  }
  return program;
}

function run(program: ParseResult, context: Record<string, unknown>): unknown {
  try {
    return program(context);
  } catch (e) {
    throw celError(e);
  }
}

// ---------------------------------------------------------------------------------------------
// CRD validation rules: `self` and `oldSelf`.

/** Compiles `x-kubernetes-validations` rules (and their messageExpressions) for the schema validator. */
export class KubernetesCelRules implements CelRuleCompiler {
  private readonly programs = new Map<string, ParseResult | CelCompileError>();

  private program(expression: string, result: ResultType): ParseResult {
    const key = `${result}\u0000${expression}`;
    let p = this.programs.get(key);
    if (!p) {
      try {
        p = compileIn(ruleEnvironment, expression, result);
      } catch (e) {
        p = e instanceof CelCompileError ? e : new CelCompileError(String(e));
      }
      this.programs.set(key, p);
    }
    if (p instanceof CelCompileError) throw p;
    return p;
  }

  compile(rule: string, messageExpression?: string): CelRuleProgram {
    const check = this.program(rule, 'bool');
    const message = messageExpression !== undefined ? this.program(messageExpression, 'string') : undefined;
    const context = (self: unknown, oldSelf: unknown) => {
      const ctx: Record<string, unknown> = { self: toCel(self) };
      if (oldSelf !== undefined) ctx.oldSelf = toCel(oldSelf);
      return ctx;
    };
    return {
      holds: (self, oldSelf) => {
        const result = run(check, context(self, oldSelf));
        if (typeof result !== 'boolean') throw new CelEvalError('rule did not evaluate to a bool');
        return result;
      },
      message: message
        ? (self, oldSelf) => {
            const text = run(message, context(self, oldSelf));
            return typeof text === 'string' ? text : undefined;
          }
        : undefined,
    };
  }
}

/** The rule compiler the test API server uses (programs are cached by rule). */
export const CEL_RULES = new KubernetesCelRules();

// ---------------------------------------------------------------------------------------------
// Admission expressions: object, oldObject, request, params, namespaceObject, authorizer, variables.

/** The values an admission expression sees (JSON; converted to CEL here). */
export interface AdmissionActivation {
  object: unknown;
  oldObject: unknown;
  request: unknown;
  params: unknown;
  namespaceObject: unknown;
  /** The request's user, for the `authorizer` variable. */
  user: { name: string; groups: string[] };
  authorize: AuthorizeFn;
  /** `authorizer.requestResource`: the request's own resource attributes. */
  requestResource: { group: string; resource: string; subresource: string; namespace: string; name: string };
}

/** A compiled admission expression. */
export type AdmissionProgram = (context: AdmissionContext) => unknown;

/** One evaluation's context: the converted activation plus the lazily evaluated `variables`. */
export class AdmissionContext {
  readonly values: Record<string, unknown>;
  private readonly variables: Record<string, unknown> = {};

  constructor(activation: AdmissionActivation) {
    const subject: Subject = { user: activation.user.name, groups: activation.user.groups, authorize: activation.authorize };
    const rr = activation.requestResource;
    this.values = {
      object: toCel(activation.object),
      oldObject: toCel(activation.oldObject),
      request: toCel(activation.request),
      params: toCel(activation.params),
      namespaceObject: toCel(activation.namespaceObject),
      variables: this.variables,
      authorizer: new CelAuthorizer(subject, new CelResourceCheck(subject, rr.group, rr.resource, rr.subresource, rr.namespace, rr.name)),
    };
  }

  /**
   * Declares `variables.<name>`: evaluated at its first use and remembered, as Kubernetes'
   * composition does; a variable that failed to compile fails the expressions that use it.
   */
  defineVariable(name: string, program: AdmissionProgram | CelCompileError): void {
    let state: { value: unknown } | { error: Error } | undefined;
    Object.defineProperty(this.variables, name, {
      enumerable: true,
      get: () => {
        if (!state) {
          if (program instanceof CelCompileError) state = { error: new CelEvalError(`composited variable "${name}" fails to compile: ${program.message}`) };
          else {
            try {
              state = { value: program(this) };
            } catch (e) {
              state = { error: celError(e) };
            }
          }
        }
        if ('error' in state) throw state.error;
        return state.value;
      },
    });
  }
}

/**
 * Compiles an admission expression that must return `result`; throws CelCompileError for one that
 * does not parse, uses an unknown name or function, or returns another type.
 */
export function compileAdmissionExpression(expression: string, result: ResultType): AdmissionProgram {
  const program = compileIn(admissionEnvironment, expression, result);
  return (context) => run(program, context.values);
}
