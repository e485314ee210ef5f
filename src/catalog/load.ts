// Reads render inputs from files, directories and stdin: multi-document YAML (or JSON), `List`
// kinds, and sorts the documents into Namespaces and catalog objects. Every problem is a value
// naming the file, the document or object, and what is wrong; nothing here throws on bad input.

import { readdirSync, realpathSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { isRecord, type KubeObject } from '../kube/types.js';
import { describeType, isDnsLabel, isLabelKey, isLabelValue, quoteValue, withArticle } from '../kube/names.js';
import { MAX_INPUT_BYTES, nestingProblem, readBounded } from './limits.js';
import { CATALOG_KINDS, type Catalog, type CatalogKind, type NetworkBaseline, type NetworkProfile, type SharedService } from './types.js';
import { validateCatalogObject } from './validate.js';

export interface InputProblem {
  /** The file (or `<stdin>`, or `cluster`). */
  source: string;
  /** The namespace, `Kind/name`, or `document N` when there is no better name. */
  subject: string;
  message: string;
}

export function formatProblem(problem: InputProblem): string {
  return `${problem.source}: ${problem.subject}: ${problem.message}`;
}

export interface SourcedObject {
  source: string;
  /** 1-based position of the document in its file. */
  document: number;
  object: KubeObject;
}

const STDIN = '-';
export const STDIN_NAME = '<stdin>';
const READABLE_EXTENSIONS = ['.yaml', '.yml', '.json'];
// Kustomize's own files sit beside catalog manifests; they are build instructions, not objects.
const KUSTOMIZE_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

function describeError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}

export interface ReadOptions {
  /** Read directories with their subdirectories (`-R`), as kubectl does. */
  recursive?: boolean;
}

const isReadable = (name: string): boolean => READABLE_EXTENSIONS.includes(path.extname(name)) && !KUSTOMIZE_FILES.includes(name);

/** Whether a directory tree holds a file `expandPaths` would read (hidden directories aside). */
function holdsReadable(directory: string, seen: Set<string>): boolean {
  let real: string;
  try {
    real = realpathSync(directory);
  } catch {
    return false;
  }
  if (seen.has(real)) return false;
  seen.add(real);
  let entries: Dirent[];
  try {
    entries = readdirSync(directory, { withFileTypes: true });
  } catch {
    return false;
  }
  for (const entry of entries) {
    const full = path.join(directory, entry.name);
    if (entry.name.startsWith('.')) continue;
    if (isDirectory(full) ? holdsReadable(full, seen) : isReadable(entry.name)) return true;
  }
  return false;
}

function isDirectory(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Files named by `paths`: a directory stands for its YAML/JSON files in name order, and with
 * `recursive` for those of its subdirectories too (hidden ones, like `.git`, aside; each real
 * directory once). Without it, a subdirectory that holds such files is a problem, not a silent skip.
 */
function expandPaths(paths: readonly string[], problems: InputProblem[], options: ReadOptions): string[] {
  const files: string[] = [];
  const visited = new Set<string>();
  const walk = (directory: string, top: boolean): void => {
    const real = realpathSync(directory);
    if (visited.has(real)) return;
    visited.add(real);
    const entries = readdirSync(directory, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const before = files.length;
    const skipped: string[] = [];
    for (const entry of entries) {
      const full = path.join(directory, entry.name);
      if (isDirectory(full)) {
        if (entry.name.startsWith('.')) continue;
        if (options.recursive) walk(full, false);
        else if (holdsReadable(full, new Set())) skipped.push(entry.name);
      } else if (isReadable(entry.name)) {
        files.push(full);
      }
    }
    if (skipped.length > 0) {
      problems.push({
        source: directory,
        subject: 'directory',
        message: `subdirector${skipped.length === 1 ? 'y' : 'ies'} ${skipped.join(', ')} hold${skipped.length === 1 ? 's' : ''} YAML or JSON files that were not read; give -R (--recursive) to read them, or name them`,
      });
    } else if (top && files.length === before) {
      problems.push({ source: directory, subject: 'directory', message: `contains no .yaml, .yml or .json files${options.recursive ? ' (recursively)' : ''}` });
    }
  };
  for (const entry of paths) {
    if (entry === STDIN) {
      files.push(STDIN);
      continue;
    }
    try {
      if (statSync(entry).isDirectory()) walk(entry, true);
      else files.push(entry);
    } catch (error) {
      problems.push({ source: entry, subject: 'file', message: `cannot read: ${describeError(error)}` });
    }
  }
  return files;
}

/** Parses every document of every file; `List` kinds are expanded into their items. */
export function readDocuments(
  paths: readonly string[],
  readStdin: () => string,
  options: ReadOptions = {},
): { documents: SourcedObject[]; problems: InputProblem[] } {
  const problems: InputProblem[] = [];
  const documents: SourcedObject[] = [];
  let total = 0;
  for (const file of expandPaths(paths, problems, options)) {
    const source = file === STDIN ? STDIN_NAME : file;
    let text: string;
    try {
      text = file === STDIN ? readStdin() : readBounded(file, MAX_INPUT_BYTES);
    } catch (error) {
      problems.push({ source, subject: 'file', message: `cannot read: ${describeError(error)}` });
      continue;
    }
    total += text.length;
    if (total > MAX_INPUT_BYTES) {
      problems.push({ source, subject: 'file', message: `not read: the inputs together are larger than ${MAX_INPUT_BYTES / 2 ** 20} MiB, the most render reads` });
      break;
    }
    parseText(text, source, documents, problems);
  }
  return { documents, problems };
}

export function parseText(text: string, source: string, documents: SourcedObject[], problems: InputProblem[]): void {
  const parsed = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  const docs = Array.isArray(parsed) ? parsed : [];
  docs.forEach((doc, position) => {
    const document = position + 1;
    const subject = `document ${document}`;
    const error = doc.errors[0];
    if (error?.message.includes('Maximum call stack size exceeded')) {
      problems.push({ source, subject, message: 'is nested too deeply to read' });
      return;
    }
    if (error) {
      const where = error.linePos?.[0] ? ` at line ${error.linePos[0].line}, column ${error.linePos[0].col}` : '';
      const reason = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      problems.push({ source, subject, message: `YAML syntax error${where}: ${reason}` });
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (caught) {
      const deep = caught instanceof RangeError && caught.message.includes('call stack');
      problems.push({ source, subject, message: deep ? 'is nested too deeply to read' : `cannot read document: ${describeError(caught)}` });
      return;
    }
    if (value === null || value === undefined) return; // an empty document, e.g. a trailing `---`
    const tooDeep = nestingProblem(value);
    if (tooDeep) {
      problems.push({ source, subject, message: tooDeep });
      return;
    }
    if (!isRecord(value)) {
      problems.push({ source, subject, message: 'is not a Kubernetes object (expected a mapping with apiVersion and kind)' });
      return;
    }
    if (typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items)) {
      value.items.forEach((item, index) => {
        if (isRecord(item)) documents.push({ source, document, object: item as KubeObject });
        else problems.push({ source, subject: `${subject} item ${index + 1}`, message: 'is not a Kubernetes object' });
      });
      return;
    }
    documents.push({ source, document, object: value as KubeObject });
  });
}

export interface SourcedNamespace {
  source: string;
  name: string;
  labels: Record<string, string>;
}

export interface SortedInputs {
  namespaces: SourcedNamespace[];
  catalogObjects: SourcedObject[];
  problems: InputProblem[];
  /** With `skipOtherKinds`: documents of other kinds that were left out, by kind (`(no kind)` for none). */
  skipped: Map<string, number>;
}

export interface SortOptions {
  /** Leave out documents of other kinds (a whole kustomize build or app folder as input) instead of refusing them. */
  skipOtherKinds?: boolean;
}

/** `Deployment 3, Service 2`: what `skipOtherKinds` left out, most first. */
export function describeSkipped(skipped: ReadonlyMap<string, number>): string {
  return [...skipped.entries()]
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
    .map(([kind, count]) => `${kind} ${count}`)
    .join(', ');
}

function subjectOf(doc: SourcedObject): string {
  const name = doc.object.metadata?.name;
  return typeof name === 'string' && name !== '' ? `${doc.object.kind}/${name}` : `document ${doc.document}`;
}

/** Sorts documents into Namespaces and catalog objects; anything else is a problem. */
export function sortDocuments(documents: readonly SourcedObject[], options: SortOptions = {}): SortedInputs {
  const result: SortedInputs = { namespaces: [], catalogObjects: [], problems: [], skipped: new Map() };
  const seenNamespaces = new Map<string, string>();
  for (const doc of documents) {
    const kind = doc.object.kind;
    if (kind === 'Namespace') {
      const namespace = readNamespace(doc, result.problems);
      if (!namespace) continue;
      const earlier = seenNamespaces.get(namespace.name);
      if (earlier !== undefined) {
        result.problems.push({ source: doc.source, subject: namespace.name, message: `Namespace is defined twice (also in ${earlier})` });
        continue;
      }
      seenNamespaces.set(namespace.name, doc.source);
      result.namespaces.push(namespace);
    } else if (CATALOG_KINDS.includes(kind as CatalogKind)) {
      result.catalogObjects.push(doc);
    } else if (options.skipOtherKinds) {
      const shown = typeof kind === 'string' && kind !== '' ? kind : '(no kind)';
      result.skipped.set(shown, (result.skipped.get(shown) ?? 0) + 1);
    } else {
      const shown = typeof kind === 'string' && kind !== '' ? withArticle(kind) : 'an object without a kind';
      result.problems.push({
        source: doc.source,
        subject: subjectOf(doc),
        message: `is ${shown}; expected a Namespace or a catalog kind (${CATALOG_KINDS.join(', ')}); give --skip-other-kinds to leave other kinds out`,
      });
    }
  }
  return result;
}

function readNamespace(doc: SourcedObject, problems: InputProblem[]): SourcedNamespace | undefined {
  const { source, object } = doc;
  const name: unknown = object.metadata?.name;
  if (name === undefined || name === null || name === '') {
    problems.push({ source, subject: `document ${doc.document}`, message: 'Namespace has no metadata.name' });
    return undefined;
  }
  if (typeof name !== 'string') {
    problems.push({ source, subject: `document ${doc.document}`, message: `Namespace metadata.name must be a string, not ${describeType(name)} (quote it: "${String(name)}")` });
    return undefined;
  }
  const before = problems.length;
  if (!isDnsLabel(name)) {
    problems.push({ source, subject: quoteValue(name), message: 'is not a valid namespace name (a lowercase DNS label of at most 63 characters)' });
    return undefined;
  }
  if (object.apiVersion !== 'v1') {
    problems.push({ source, subject: name, message: `apiVersion must be v1, not ${quoteValue(String(object.apiVersion ?? ''))}` });
  }
  const labels: Record<string, string> = {};
  const raw = object.metadata?.labels;
  if (raw !== undefined && raw !== null) {
    if (!isRecord(raw)) {
      problems.push({ source, subject: name, message: 'metadata.labels must be a map of strings' });
    } else {
      for (const [key, value] of Object.entries(raw)) {
        if (!isLabelKey(key)) {
          problems.push({ source, subject: name, message: `label key ${quoteValue(key)} is not a valid label key` });
        } else if (typeof value !== 'string') {
          const shown = typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
          problems.push({
            source,
            subject: name,
            message: `label ${key}: value ${quoteValue(shown)} is ${describeType(value)}, not a string${typeof value === 'object' ? '' : ` (quote it: "${shown}")`}`,
          });
        } else if (!isLabelValue(value)) {
          problems.push({
            source,
            subject: name,
            message: `label ${key}: value ${quoteValue(value, 40)} is not a valid label value (at most 63 letters, digits, '-', '_', '.'); the API server would refuse it`,
          });
        } else {
          labels[key] = value;
        }
      }
    }
  }
  if (problems.length > before) return undefined;
  return { source, name, labels };
}

/**
 * Validates catalog objects and assembles a catalog from the valid ones. Invalid or duplicated
 * objects are reported and left out.
 */
export function buildCatalog(objects: ReadonlyArray<{ source: string; object: KubeObject }>): { catalog: Catalog; problems: InputProblem[] } {
  const profiles = new Map<string, NetworkProfile>();
  const services = new Map<string, SharedService>();
  const baselines = new Map<string, NetworkBaseline>();
  const problems: InputProblem[] = [];
  const seen = new Map<string, string>();
  const rejected = { profiles: new Set<string>(), services: new Set<string>(), baselines: new Set<string>() };
  const rejectedByKind: Record<string, Set<string>> = {
    NetworkProfile: rejected.profiles,
    SharedService: rejected.services,
    NetworkBaseline: rejected.baselines,
  };
  for (const { source, object } of objects) {
    const name = typeof object.metadata?.name === 'string' && object.metadata.name !== '' ? object.metadata.name : undefined;
    const subject = `${object.kind}/${name ?? '(no name)'}`;
    const result = validateCatalogObject(object);
    if (!result.ok) {
      for (const message of result.problems) problems.push({ source, subject, message });
      if (name !== undefined) rejectedByKind[object.kind ?? '']?.add(name);
      continue;
    }
    const earlier = seen.get(subject);
    if (earlier !== undefined) {
      problems.push({ source, subject, message: `is defined twice (also in ${earlier})` });
      continue;
    }
    seen.set(subject, source);
    const { entry } = result;
    if (entry.kind === 'NetworkProfile') profiles.set(entry.value.name, entry.value);
    else if (entry.kind === 'SharedService') services.set(entry.value.name, entry.value);
    else baselines.set(entry.value.name, entry.value);
  }
  for (const name of profiles.keys()) rejected.profiles.delete(name);
  for (const name of services.keys()) rejected.services.delete(name);
  for (const name of baselines.keys()) rejected.baselines.delete(name);
  return { catalog: { profiles: sortedMap(profiles), services: sortedMap(services), baselines: sortedMap(baselines), rejected }, problems };
}

function sortedMap<T>(map: Map<string, T>): Map<string, T> {
  return new Map([...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
