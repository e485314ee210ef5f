// A YAML emitter for the plain data `render` prints (maps, lists, strings, numbers, booleans,
// null), byte-identical to the `yaml` package's `stringify(value, { lineWidth: 0,
// aliasDuplicateObjects: false })`, about 20 times faster on rendered policies (bench/yaml.ts).
//
// It writes the block structure itself and asks the `yaml` package how to write each distinct
// scalar once (plain or quoted), so the quoting rules are the package's own. Anything outside what
// it knows for certain (a string with a line break or a control character, a document marker, a
// very long key, a value that is not plain data) makes `emitYaml` return undefined, and the caller
// uses the package for that object. Specs shared between objects are written once per indent.

import { stringify } from 'yaml';

/** Strings the package writes plain in any block context (no indicator, no `: `, not a core-schema null or bool). */
const SAFE_PLAIN = /^[A-Za-z_/][A-Za-z0-9_./:-]*$/;
const CORE_WORDS = new Set(['null', 'Null', 'NULL', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE']);
/** What this emitter leaves to the package: line breaks, control characters, unpaired surrogates. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what it looks for
const UNUSUAL = /[\x00-\x1f\x7f-\x9f\u{D800}-\u{DFFF}]/u;
/** The package writes keys longer than 1024 characters as explicit keys (`? `). */
const MAX_KEY_LENGTH = 1000;
/** Bounded memory: scalars are few and repeat; past this many the cache starts again. */
const MAX_CACHED_SCALARS = 100_000;

class Unsupported extends Error {}

const scalars = new Map<string, string>();

function scalar(value: string, isKey: boolean): string {
  if (SAFE_PLAIN.test(value) && !value.endsWith(':') && !CORE_WORDS.has(value) && (!isKey || value.length <= MAX_KEY_LENGTH)) return value;
  if (isKey && value.length > MAX_KEY_LENGTH) throw new Unsupported();
  const cached = scalars.get(value);
  if (cached !== undefined) return cached;
  // A document marker at the start (`---`, `...`) is written differently at the top level.
  if (UNUSUAL.test(value) || value.startsWith('---') || value.startsWith('...')) throw new Unsupported();
  const written = stringify(value, { lineWidth: 0 });
  const text = written.endsWith('\n') ? written.slice(0, -1) : written;
  if (text.includes('\n')) throw new Unsupported();
  if (scalars.size >= MAX_CACHED_SCALARS) scalars.clear();
  scalars.set(value, text);
  return text;
}

function leaf(value: unknown): string | undefined {
  if (typeof value === 'string') return scalar(value, false);
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && !Object.is(value, -0)) return String(value);
    throw new Unsupported();
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? '[]' : undefined;
  if (typeof value === 'object') {
    if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) throw new Unsupported();
    for (const key in value) if (Object.hasOwn(value, key)) return undefined;
    return '{}';
  }
  throw new Unsupported(); // undefined, functions, symbols, bigints: the package's own rules
}

/** Maps seen once; a map seen again is shared (a spec used by many namespaces) and its text is kept. */
const seen = new WeakSet<object>();
/** Shared maps: object → indent → their lines. Rendered objects are never mutated. */
const written = new WeakMap<object, Map<number, string>>();

/** A non-empty map at `indent` spaces; the first line's indent is left to the caller when `inline`. */
function map(value: Record<string, unknown>, indent: number, inline: boolean): string {
  let perIndent = written.get(value);
  const key = inline ? -indent - 1 : indent;
  const hit = perIndent?.get(key);
  if (hit !== undefined) return hit;
  const pad = ' '.repeat(indent);
  let out = '';
  let first = true;
  for (const name of Object.keys(value)) {
    const child = value[name];
    if (child === undefined) throw new Unsupported();
    out += first && inline ? '' : pad;
    first = false;
    out += scalar(name, true);
    const simple = leaf(child);
    if (simple !== undefined) out += `: ${simple}\n`;
    else if (Array.isArray(child)) out += `:\n${sequence(child, indent + 2)}`;
    else out += `:\n${map(child as Record<string, unknown>, indent + 2, false)}`;
  }
  if (!seen.has(value)) {
    seen.add(value);
    return out;
  }
  if (!perIndent) written.set(value, (perIndent = new Map()));
  perIndent.set(key, out);
  return out;
}

/** A non-empty list at `indent` spaces (`- ` items, the package's default indented sequences). */
function sequence(value: readonly unknown[], indent: number): string {
  const pad = ' '.repeat(indent);
  let out = '';
  for (const item of value) {
    if (item === undefined) throw new Unsupported();
    const simple = leaf(item);
    if (simple !== undefined) out += `${pad}- ${simple}\n`;
    else if (Array.isArray(item)) out += `${pad}- ${sequence(item, indent + 2).slice(indent + 2)}`;
    else out += `${pad}- ${map(item as Record<string, unknown>, indent + 2, true)}`;
  }
  return out;
}

/** `value` as one YAML document body, or undefined when the `yaml` package must write it. */
export function emitYaml(value: unknown): string | undefined {
  try {
    const simple = leaf(value);
    if (simple !== undefined) return undefined; // top-level scalars: not what render prints
    if (Array.isArray(value)) return sequence(value, 0);
    return map(value as Record<string, unknown>, 0, false);
  } catch (error) {
    if (error instanceof Unsupported || error instanceof RangeError) return undefined;
    throw error;
  }
}
