// A small CEL interpreter for CRD `x-kubernetes-validations` rules: the common subset (literals,
// `self`/`oldSelf` field access, operators, ternary, size/has/matches/startsWith/endsWith/contains,
// all/exists/exists_one/map/filter on lists and maps). Rules outside it are reported as unsupported
// so the caller can skip them, as a lenient server would rather than reject valid objects.

type Value = unknown;

type Node =
  | { k: 'lit'; v: Value }
  | { k: 'id'; name: string }
  | { k: 'list'; items: Node[] }
  | { k: 'map'; entries: [Node, Node][] }
  | { k: 'sel'; obj: Node; field: string }
  | { k: 'idx'; obj: Node; index: Node }
  | { k: 'call'; fn: string; target?: Node; args: Node[] }
  | { k: 'un'; op: '!' | '-'; arg: Node }
  | { k: 'bin'; op: string; left: Node; right: Node }
  | { k: 'cond'; test: Node; then: Node; else: Node };

export class CelUnsupported extends Error {}
export class CelEvalError extends Error {}

const TOKEN = /\s*(?:(\d+\.\d+(?:[eE][+-]?\d+)?)|(0x[0-9a-fA-F]+|\d+)(u?)|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|([A-Za-z_][A-Za-z0-9_]*)|(==|!=|<=|>=|&&|\|\||[-+*/%<>!?:.,()[\]{}]))/y;

interface Token {
  type: 'num' | 'int' | 'str' | 'id' | 'op';
  value: string;
}

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  let pos = 0;
  while (pos < src.length) {
    if (/^\s*$/.test(src.slice(pos))) break;
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(src);
    if (!m) throw new CelUnsupported(`cannot parse ${JSON.stringify(src.slice(pos, pos + 10))}`);
    pos = TOKEN.lastIndex;
    if (m[1] !== undefined) tokens.push({ type: 'num', value: m[1] });
    else if (m[2] !== undefined) tokens.push({ type: 'int', value: m[2] });
    else if (m[4] !== undefined) tokens.push({ type: 'str', value: m[4] });
    else if (m[5] !== undefined) tokens.push({ type: 'id', value: m[5] });
    else tokens.push({ type: 'op', value: m[6]! });
  }
  return tokens;
}

function unquote(s: string): string {
  const body = s.slice(1, -1);
  return body.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' })[c] ?? `\\${c}`);
}

class Parser {
  private i = 0;
  constructor(private readonly t: Token[]) {}

  parse(): Node {
    const node = this.cond();
    if (this.i < this.t.length) throw new CelUnsupported(`unexpected ${this.t[this.i]!.value}`);
    return node;
  }

  private peek(value?: string): boolean {
    const tok = this.t[this.i];
    return tok !== undefined && (value === undefined || (tok.type === 'op' && tok.value === value));
  }

  private eat(value: string): void {
    if (!this.peek(value)) throw new CelUnsupported(`expected ${value}`);
    this.i++;
  }

  private cond(): Node {
    const test = this.or();
    if (!this.peek('?')) return test;
    this.i++;
    const then = this.cond();
    this.eat(':');
    return { k: 'cond', test, then, else: this.cond() };
  }

  private binary(ops: string[], next: () => Node): Node {
    let left = next();
    for (;;) {
      const tok = this.t[this.i];
      const op = tok && ((tok.type === 'op' && ops.includes(tok.value)) || (tok.type === 'id' && tok.value === 'in' && ops.includes('in'))) ? tok.value : undefined;
      if (!op) return left;
      this.i++;
      left = { k: 'bin', op, left, right: next() };
    }
  }

  private or = (): Node => this.binary(['||'], this.and);
  private and = (): Node => this.binary(['&&'], this.rel);
  private rel = (): Node => this.binary(['==', '!=', '<', '<=', '>', '>=', 'in'], this.add);
  private add = (): Node => this.binary(['+', '-'], this.mul);
  private mul = (): Node => this.binary(['*', '/', '%'], this.unary);

  private unary = (): Node => {
    if (this.peek('!') || this.peek('-')) {
      const op = this.t[this.i++]!.value as '!' | '-';
      return { k: 'un', op, arg: this.unary() };
    }
    return this.member();
  };

  private args(): Node[] {
    const args: Node[] = [];
    this.eat('(');
    while (!this.peek(')')) {
      args.push(this.cond());
      if (!this.peek(')')) this.eat(',');
    }
    this.eat(')');
    return args;
  }

  private member(): Node {
    let node = this.primary();
    for (;;) {
      if (this.peek('.')) {
        this.i++;
        const tok = this.t[this.i++];
        if (!tok || tok.type !== 'id') throw new CelUnsupported('expected a field name');
        node = this.peek('(') ? { k: 'call', fn: tok.value, target: node, args: this.args() } : { k: 'sel', obj: node, field: tok.value };
      } else if (this.peek('[')) {
        this.i++;
        const index = this.cond();
        this.eat(']');
        node = { k: 'idx', obj: node, index };
      } else {
        return node;
      }
    }
  }

  private primary(): Node {
    const tok = this.t[this.i++];
    if (!tok) throw new CelUnsupported('unexpected end');
    switch (tok.type) {
      case 'num':
        return { k: 'lit', v: Number(tok.value) };
      case 'int':
        return { k: 'lit', v: Number(tok.value) };
      case 'str':
        return { k: 'lit', v: unquote(tok.value) };
      case 'id':
        if (tok.value === 'true' || tok.value === 'false') return { k: 'lit', v: tok.value === 'true' };
        if (tok.value === 'null') return { k: 'lit', v: null };
        if (this.peek('(')) return { k: 'call', fn: tok.value, args: this.args() };
        return { k: 'id', name: tok.value };
      default:
        if (tok.value === '(') {
          const inner = this.cond();
          this.eat(')');
          return inner;
        }
        if (tok.value === '[') {
          const items: Node[] = [];
          while (!this.peek(']')) {
            items.push(this.cond());
            if (!this.peek(']')) this.eat(',');
          }
          this.eat(']');
          return { k: 'list', items };
        }
        if (tok.value === '{') {
          const entries: [Node, Node][] = [];
          while (!this.peek('}')) {
            const key = this.cond();
            this.eat(':');
            entries.push([key, this.cond()]);
            if (!this.peek('}')) this.eat(',');
          }
          this.eat('}');
          return { k: 'map', entries };
        }
        throw new CelUnsupported(`unexpected ${tok.value}`);
    }
  }
}

type Env = Record<string, Value>;

function isMap(v: Value): v is Record<string, Value> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function equal(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]));
  if (isMap(a) && isMap(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && equal(a[k], b[k]));
  }
  return false;
}

const MACROS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);
const patternCache = new Map<string, RegExp>();

function evaluate(node: Node, env: Env): Value {
  switch (node.k) {
    case 'lit':
      return node.v;
    case 'id':
      if (!(node.name in env)) throw new CelUnsupported(`undeclared reference to '${node.name}'`);
      return env[node.name];
    case 'list':
      return node.items.map((n) => evaluate(n, env));
    case 'map':
      return Object.fromEntries(node.entries.map(([k, v]) => [String(evaluate(k, env)), evaluate(v, env)]));
    case 'sel': {
      const obj = evaluate(node.obj, env);
      if (!isMap(obj) || !(node.field in obj)) throw new CelEvalError(`no such key: ${node.field}`);
      return obj[node.field];
    }
    case 'idx': {
      const obj = evaluate(node.obj, env);
      const index = evaluate(node.index, env);
      if (Array.isArray(obj) && typeof index === 'number') {
        if (index < 0 || index >= obj.length) throw new CelEvalError(`index out of bounds: ${index}`);
        return obj[index];
      }
      if (isMap(obj) && typeof index === 'string') {
        if (!(index in obj)) throw new CelEvalError(`no such key: ${index}`);
        return obj[index];
      }
      throw new CelEvalError('invalid index');
    }
    case 'un': {
      const v = evaluate(node.arg, env);
      if (node.op === '!') {
        if (typeof v !== 'boolean') throw new CelEvalError('no such overload');
        return !v;
      }
      if (typeof v !== 'number') throw new CelEvalError('no such overload');
      return -v;
    }
    case 'cond': {
      const test = evaluate(node.test, env);
      if (typeof test !== 'boolean') throw new CelEvalError('no such overload');
      return evaluate(test ? node.then : node.else, env);
    }
    case 'bin':
      return binary(node, env);
    case 'call':
      return call(node, env);
  }
}

function binary(node: Extract<Node, { k: 'bin' }>, env: Env): Value {
  if (node.op === '&&' || node.op === '||') {
    // CEL's logical operators are commutative about errors: an error on one side is absorbed
    // when the other side decides the result.
    let left: Value;
    let leftError: unknown;
    try {
      left = evaluate(node.left, env);
    } catch (e) {
      if (e instanceof CelUnsupported) throw e;
      leftError = e;
    }
    const decisive = node.op === '||';
    if (left === decisive) return decisive;
    const right = evaluate(node.right, env);
    if (right === decisive) return decisive;
    if (leftError) throw leftError;
    if (typeof left !== 'boolean' || typeof right !== 'boolean') throw new CelEvalError('no such overload');
    return !decisive;
  }
  const a = evaluate(node.left, env);
  const b = evaluate(node.right, env);
  switch (node.op) {
    case '==':
      return equal(a, b);
    case '!=':
      return !equal(a, b);
    case 'in':
      if (Array.isArray(b)) return b.some((x) => equal(x, a));
      if (isMap(b) && typeof a === 'string') return a in b;
      throw new CelEvalError('no such overload');
    case '+':
      if (typeof a === 'number' && typeof b === 'number') return a + b;
      if (typeof a === 'string' && typeof b === 'string') return a + b;
      if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
      throw new CelEvalError('no such overload');
  }
  if (typeof a === 'string' && typeof b === 'string' && ['<', '<=', '>', '>='].includes(node.op)) {
    return node.op === '<' ? a < b : node.op === '<=' ? a <= b : node.op === '>' ? a > b : a >= b;
  }
  if (typeof a !== 'number' || typeof b !== 'number') throw new CelEvalError('no such overload');
  switch (node.op) {
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      if (b === 0) throw new CelEvalError('division by zero');
      return Number.isInteger(a) && Number.isInteger(b) ? Math.trunc(a / b) : a / b;
    case '%':
      if (b === 0) throw new CelEvalError('modulus by zero');
      return a % b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    default:
      return a >= b;
  }
}

function size(v: Value): number {
  if (typeof v === 'string') return [...v].length;
  if (Array.isArray(v)) return v.length;
  if (isMap(v)) return Object.keys(v).length;
  throw new CelEvalError('no such overload: size');
}

function call(node: Extract<Node, { k: 'call' }>, env: Env): Value {
  const { fn, target, args } = node;
  if (!target && fn === 'has') {
    const arg = args[0];
    if (args.length !== 1 || arg?.k !== 'sel') throw new CelUnsupported('invalid argument to has() macro');
    const obj = evaluate(arg.obj, env);
    return isMap(obj) && arg.field in obj;
  }
  if (target && MACROS.has(fn)) {
    const range = evaluate(target, env);
    const variable = args[0];
    if (variable?.k !== 'id' || args.length < 2) throw new CelUnsupported(`invalid ${fn} macro`);
    const items = Array.isArray(range) ? range : isMap(range) ? Object.keys(range) : undefined;
    if (!items) throw new CelEvalError(`no such overload: ${fn}`);
    const run = (item: Value, body: Node) => evaluate(body, { ...env, [variable.name]: item });
    switch (fn) {
      case 'all':
        return items.every((item) => run(item, args[1]!) === true);
      case 'exists':
        return items.some((item) => run(item, args[1]!) === true);
      case 'exists_one':
        return items.filter((item) => run(item, args[1]!) === true).length === 1;
      case 'filter':
        return items.filter((item) => run(item, args[1]!) === true);
      default:
        return args.length === 3 ? items.filter((item) => run(item, args[1]!) === true).map((item) => run(item, args[2]!)) : items.map((item) => run(item, args[1]!));
    }
  }
  const self = target ? evaluate(target, env) : undefined;
  const values = args.map((a) => evaluate(a, env));
  const str = (v: Value) => {
    if (typeof v !== 'string') throw new CelEvalError(`no such overload: ${fn}`);
    return v;
  };
  switch (fn) {
    case 'size':
      return size(target ? self : values[0]);
    case 'matches': {
      const subject = str(target ? self : values[0]);
      const pattern = str(target ? values[0] : values[1]);
      let re = patternCache.get(pattern);
      if (!re) {
        re = new RegExp(pattern);
        patternCache.set(pattern, re);
      }
      return re.test(subject);
    }
    case 'startsWith':
      return str(self).startsWith(str(values[0]));
    case 'endsWith':
      return str(self).endsWith(str(values[0]));
    case 'contains':
      return str(self).includes(str(values[0]));
    case 'lowerAscii':
      return str(self).toLowerCase();
    case 'upperAscii':
      return str(self).toUpperCase();
    case 'int':
      if (typeof values[0] === 'number') return Math.trunc(values[0]);
      if (typeof values[0] === 'string' && /^-?\d+$/.test(values[0])) return Number(values[0]);
      throw new CelEvalError('cannot convert to int');
    case 'string':
      return typeof values[0] === 'string' ? values[0] : JSON.stringify(values[0]);
    default:
      throw new CelUnsupported(`unsupported function ${fn}`);
  }
}

export type CelProgram = (self: Value, oldSelf?: Value) => boolean;

/**
 * Compiles a validation rule. Throws CelUnsupported for syntax or functions outside the subset.
 * The program returns whether the rule holds and throws CelEvalError on runtime errors (a missing
 * field, a type mismatch), which the API server reports as validation failures.
 */
export function compileCel(rule: string): CelProgram {
  const ast = new Parser(tokenize(rule)).parse();
  return (self, oldSelf) => {
    const env: Env = { self };
    if (oldSelf !== undefined) env.oldSelf = oldSelf;
    const result = evaluate(ast, env);
    if (typeof result !== 'boolean') throw new CelEvalError('rule did not evaluate to a bool');
    return result;
  };
}

/** Whether a rule is a transition rule (uses `oldSelf`): those apply to updates only. */
export function isTransitionRule(rule: string): boolean {
  return /\boldSelf\b/.test(rule);
}
