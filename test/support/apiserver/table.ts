// Server-side printing: `meta.k8s.io/v1 Table` responses for kubectl, from CRD printer columns or
// the built-in kinds' columns.
import type { CrdPrinterColumn } from '../../../src/kube/openapi.js';
import { compileJsonPath, evaluateJsonPath } from './jsonpath.js';
import type { KubeObject, ResourceType, TableColumn } from './types.js';

export const TABLE_ACCEPT = /as=Table/;

/** apimachinery's duration.HumanDuration, the AGE column's format. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24);
    const years = Math.floor(days / 365);
    return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

export function ageOf(timestamp: unknown, now: number): string | null {
  if (typeof timestamp !== 'string') return '<unknown>';
  const t = Date.parse(timestamp);
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t);
}

export const NAME_COLUMN: TableColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  cell: (o) => o.metadata.name,
};

export const AGE_COLUMN: TableColumn = {
  name: 'Age',
  type: 'date',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  cell: (o, now) => ageOf(o.metadata.creationTimestamp, now),
};

/** Columns of a custom resource: Name, then the CRD's printer columns (Age when it has none). */
export function crdColumns(printerColumns: CrdPrinterColumn[] | undefined): TableColumn[] {
  if (!printerColumns || printerColumns.length === 0) return [NAME_COLUMN, AGE_COLUMN];
  return [
    NAME_COLUMN,
    ...printerColumns.map((pc): TableColumn => {
      let steps: ReturnType<typeof compileJsonPath> | undefined;
      try {
        steps = compileJsonPath(pc.jsonPath);
      } catch {
        steps = undefined;
      }
      const column: TableColumn = {
        name: pc.name,
        type: pc.type,
        description: pc.description ?? '',
        priority: pc.priority ?? 0,
        cell: (o, now) => {
          if (!steps) return null;
          const [value] = evaluateJsonPath(steps, o);
          return cellValue(pc.type, value, now);
        },
      };
      if (pc.format !== undefined) column.format = pc.format;
      return column;
    }),
  ];
}

function cellValue(type: string, value: unknown, now: number): unknown {
  if (value === undefined || value === null) return null;
  switch (type) {
    case 'string':
      return typeof value === 'string' ? value : JSON.stringify(value);
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'date':
      return typeof value === 'string' ? ageOf(value, now) : null;
    default:
      return null;
  }
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

function rowObject(obj: KubeObject, include: IncludeObject): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

export interface TableList {
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

/** The Table for `objects`; column definitions are left out when `noHeaders` (watch events after the first). */
export function toTable(rt: ResourceType, objects: KubeObject[], include: IncludeObject, list: TableList, noHeaders = false): unknown {
  const now = Date.now();
  const metadata: Record<string, unknown> = { resourceVersion: list.resourceVersion };
  if (list.continue) metadata.continue = list.continue;
  if (list.remainingItemCount !== undefined) metadata.remainingItemCount = list.remainingItemCount;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: noHeaders
      ? null
      : rt.columns.map((c) => ({
          name: c.name,
          type: c.type,
          format: c.format ?? '',
          description: c.description ?? '',
          priority: c.priority ?? 0,
        })),
    rows: objects.map((o) => {
      const row: Record<string, unknown> = { cells: rt.columns.map((c) => c.cell(o, now) ?? null) };
      const object = rowObject(o, include);
      if (object !== undefined) row.object = object;
      return row;
    }),
  };
}
