// The fast YAML emitter writes exactly what the `yaml` package writes (render's output must stay
// byte-identical), for everything render prints and for awkward data it must either write the same
// or hand back to the package.
import { expect } from 'chai';
import { parse, stringify } from 'yaml';
import { makeRenderConfig } from '../../src/config.js';
import { formatObjects } from '../../src/render/output.js';
import { renderAll } from '../../src/render/render.js';
import { emitYaml } from '../../src/render/yaml-emit.js';
import { defaultCatalog } from '../support/project.js';
import { benchNamespaces } from '../../bench/fixtures.js';

const reference = (value: unknown): string => stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });

/** Same as the package, or handed back (undefined); never different. */
function expectSameOrHandedBack(value: unknown): 'same' | 'handed back' {
  const fast = emitYaml(value);
  if (fast === undefined) return 'handed back';
  expect(fast, JSON.stringify(value)).to.equal(reference(value));
  return 'same';
}

// A deterministic pseudo-random generator, so a failure is reproducible.
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const AWKWARD_STRINGS = [
  '', ' ', 'a', '443', '0', '-1', '+1', '1.5', '.5', '1e3', '0x1F', '0o17', '.inf', '-.inf', '.nan', 'yes', 'no', 'on', 'off', 'y', 'n', '~',
  'null', 'Null', 'NULL', 'true', 'True', 'FALSE', '*', '&a', '!tag', '%x', '@x', '`x', '|', '>', '-', '?', '- a', '? a', ':', 'a:', 'a: b', 'a:b',
  'a #b', 'a#b', '#a', '[a]', '{a}', 'a,b', 'a, b', "it's", 'say "hi"', 'both \' and "', 'back\\slash', 'tab\there', 'line\nbreak', 'trailing ',
  ' leading', 'é', 'snow ☃', '日本', 'emoji 😀', '\u0000', '\u007f', '---', '--- x', '...', 'k8s:io.kubernetes.pod.namespace', '10.0.0.0/8',
  '2001:db8::/32', 'api.github.com', '*.example.com', 'TCP', 'ANY', '0.0.0.0/0', 'x'.repeat(1100), `${'k'.repeat(1030)}`,
];

describe('fast YAML emitter', () => {
  it('writes everything render prints for the examples and the benchmark cluster byte-identically', () => {
    const objects = renderAll(benchNamespaces(1_000), defaultCatalog(), makeRenderConfig()).objects;
    let handedBack = 0;
    for (const object of objects) if (expectSameOrHandedBack(object) === 'handed back') handedBack++;
    expect(handedBack, 'rendered policies are plain data the emitter knows').to.equal(0);
    const whole = objects.map((object) => `---\n${reference(object)}`).join('');
    expect(formatObjects(objects, 'yaml')).to.equal(whole);
    // Twice: the second run comes from the text kept for shared specs.
    expect(formatObjects(objects, 'yaml')).to.equal(whole);
  });

  it('writes awkward scalars as values, keys and list items exactly as the package does, or hands them back', () => {
    for (const text of AWKWARD_STRINGS) {
      expectSameOrHandedBack({ value: text });
      expectSameOrHandedBack({ [text]: 'x' });
      expectSameOrHandedBack({ list: [text, { key: text }], nested: { deeper: [[text]] } });
    }
    // Whatever it writes reads back as the same data.
    const printable = AWKWARD_STRINGS.filter((s) => !/[\n\t]/.test(s) && !s.includes(String.fromCharCode(0)) && !s.includes(String.fromCharCode(127)) && !s.startsWith('---') && !s.startsWith('...'));
    const plain = emitYaml({ values: printable });
    expect(plain, 'printable scalars are written by the emitter').to.not.equal(undefined);
    expect(parse(plain!)).to.deep.equal({ values: printable });
  });

  it('agrees with the package on 3,000 random nested documents', () => {
    const next = random(42);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const value = (depth: number): unknown => {
      const roll = next();
      if (depth > 4 || roll < 0.35) return pick<unknown>([pick(AWKWARD_STRINGS), Math.floor(next() * 70000) - 100, next() < 0.5, null, 1.25, -0, {}, []]);
      if (roll < 0.65) return Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(next() * 4) }, () => [pick(AWKWARD_STRINGS.slice(0, 60)), value(depth + 1)]));
    };
    let same = 0;
    for (let i = 0; i < 3_000; i++) if (expectSameOrHandedBack({ root: value(0) }) === 'same') same++;
    expect(same, 'most documents are written by the emitter itself').to.be.greaterThan(1_000);
  });

  it('hands shared objects back correctly at every indent they appear at', () => {
    const shared = { endpointSelector: {}, ingress: [{ fromEntities: ['world'] }] };
    const value = { a: shared, b: [shared, { c: shared }], d: [[shared]] };
    expectSameOrHandedBack(value);
    expectSameOrHandedBack(value);
  });
});
