// Reads a stream of Hubble flows line by line and groups the drops (direction, source, destination,
// port): memory grows with the number of distinct groups, never with the input. Lines that are not
// flows are counted and named (the first few), and skipped.

import type { Readable } from 'node:stream';
import { formatPort } from '../simulate/flows.js';
import type { Protocol } from '../engine/identity.js';
import { parseFlowLine, type DroppedFlow, type LineResult } from './hubble.js';

export interface DropGroup {
  key: string;
  /** The namespace whose policy dropped it: the source's for egress, the destination's for ingress. */
  namespace: string;
  /** The first flow of the group stands for all of them. */
  flow: DroppedFlow;
  port: string;
  /** Drop events (Cilium also reports a policy drop as a policy-verdict event: the larger of the two is the count). */
  dropEvents: number;
  verdictEvents: number;
}

export interface ReadResult {
  groups: DropGroup[];
  lines: number;
  flows: number;
  /** Lines that are not flows, by line number (the first ones), and how many in all. */
  badLines: Array<{ line: number; message: string }>;
  badLineCount: number;
  /** Drops past the group cap that fit no existing group: counted, not explained. */
  ungrouped: number;
}

const MAX_BAD_LINES = 10;
/** Distinct drops kept (memory is bounded by this, not by the input). */
export const MAX_GROUPS = 10_000;

const groupKey = (flow: DroppedFlow, port: string): string =>
  `${flow.direction}\u0000${flow.source.text}\u0000${flow.destination.text}\u0000${port}\u0000${flow.dropReason}`;

function collapseWorld(side: DroppedFlow['source']): DroppedFlow['source'] {
  return side.endpoint?.kind === 'world' ? { endpoint: { kind: 'world' }, text: 'reserved:world' } : side;
}

export function groupCount(group: DropGroup): number {
  return Math.max(group.dropEvents, group.verdictEvents);
}

function namespaceOf(flow: DroppedFlow): string {
  const side = flow.direction === 'ingress' ? flow.destination : flow.source;
  const other = flow.direction === 'ingress' ? flow.source : flow.destination;
  const endpoint = side.endpoint?.kind === 'pod' ? side.endpoint : other.endpoint?.kind === 'pod' ? other.endpoint : undefined;
  return endpoint?.kind === 'pod' ? endpoint.namespace : '-';
}

export class DropReader {
  private readonly groups = new Map<string, DropGroup>();
  private lineNumber = 0;
  private flows = 0;
  private readonly badLines: Array<{ line: number; message: string }> = [];
  private badLineCount = 0;
  private ungrouped = 0;

  add(line: string): void {
    this.record(parseFlowLine(line));
  }

  /**
   * One line, as bytes. Most of a Hubble stream is forwarded traffic: a line
   * that cannot be a drop is recognised from its bytes and never decoded or parsed.
   */
  addBytes(line: Buffer): void {
    if (isOtherVerdict(line) && looksLikeFlow(line)) {
      this.lineNumber++;
      this.flows++;
      return;
    }
    this.add(line.toString('utf8'));
  }

  /** A line too long to be a flow: counted and named without being kept. */
  addOverlong(): void {
    this.record({ kind: 'error', message: `is longer than ${MAX_LINE_BYTES / 2 ** 20} MiB: not a Hubble flow` });
  }

  private record(parsed: LineResult): void {
    this.lineNumber++;
    if (parsed.kind === 'error') {
      this.badLineCount++;
      if (this.badLines.length < MAX_BAD_LINES) this.badLines.push({ line: this.lineNumber, message: parsed.message });
      return;
    }
    if (parsed.kind === 'other') return;
    this.flows++;
    if (parsed.kind !== 'drop') return;
    let flow = parsed.flow;
    const port = flow.protocol === 'TCP' || flow.protocol === 'UDP' || flow.protocol === 'SCTP' ? formatPort(flow.port, flow.protocol as Protocol) : flow.protocol;
    let key = groupKey(flow, port);
    if (this.groups.size >= MAX_GROUPS && !this.groups.has(key)) {
      // Past the cap, addresses outside the cluster stand together (a scan from a million
      // addresses is one group, not a million), and a drop that still has no group is only counted.
      flow = { ...flow, source: collapseWorld(flow.source), destination: collapseWorld(flow.destination) };
      key = groupKey(flow, port);
      if (!this.groups.has(key)) {
        this.ungrouped++;
        return;
      }
    }
    let group = this.groups.get(key);
    if (!group) this.groups.set(key, (group = { key, namespace: namespaceOf(flow), flow, port, dropEvents: 0, verdictEvents: 0 }));
    if (flow.eventType === 5) group.verdictEvents++;
    else group.dropEvents++;
  }

  result(): ReadResult {
    return { groups: [...this.groups.values()], lines: this.lineNumber, flows: this.flows, badLines: this.badLines, badLineCount: this.badLineCount, ungrouped: this.ungrouped };
  }
}

// Hubble (Go's JSON encoder, no spaces) writes `"verdict":"DROPPED"` near the start of a flow: one
// search finds the verdict, a comparison reads it. Anything written differently takes the exact path.
const VERDICT_KEY = Buffer.from('"verdict":');
const FORWARDED_VERDICTS = ['"FORWARDED"', '"REDIRECTED"', '"TRACED"', '"TRANSLATED"', '"ERROR"', '1,', '3,', '5,', '6,', '7,'].map((text) => Buffer.from(text));

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** The line is a flow with a verdict that is not a drop (FORWARDED and the like). */
function isOtherVerdict(line: Buffer): boolean {
  const at = line.indexOf(VERDICT_KEY);
  if (at === -1) return false;
  const value = at + VERDICT_KEY.length;
  return FORWARDED_VERDICTS.some(
    (verdict) => value + verdict.length <= line.length && line.compare(verdict, 0, verdict.length, value, value + verdict.length) === 0,
  );
}

function looksLikeFlow(line: Buffer): boolean {
  let first = 0;
  let last = line.length - 1;
  while (first < line.length && line[first]! <= 0x20) first++;
  while (last > first && line[last]! <= 0x20) last--;
  return line[first] === OPEN_BRACE && line[last] === CLOSE_BRACE;
}

/** A line longer than this is not a flow (Hubble's are a few KiB): it is named and skipped, not buffered. */
export const MAX_LINE_BYTES = 4 * 2 ** 20;
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * Reads every line of a stream into a DropReader, in chunks: a line's pieces are kept until its end
 * arrives (never re-copied per chunk), and a line over MAX_LINE_BYTES is dropped as it grows.
 */
export async function readDrops(input: Readable): Promise<ReadResult> {
  const reader = new DropReader();
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overlong = false;
  let first = true;
  const finish = (tail: Buffer) => {
    if (overlong) {
      reader.addOverlong();
    } else {
      let line = pending.length === 0 ? tail : Buffer.concat([...pending, tail]);
      if (first && line.subarray(0, 3).equals(UTF8_BOM)) line = line.subarray(3);
      if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
      reader.addBytes(line);
    }
    first = false;
    pending = [];
    pendingBytes = 0;
    overlong = false;
  };
  for await (const chunk of input) {
    const data: Buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    let start = 0;
    for (let newline = data.indexOf(0x0a, start); newline !== -1; newline = data.indexOf(0x0a, start)) {
      finish(data.subarray(start, newline));
      start = newline + 1;
    }
    if (start < data.length && !overlong) {
      pending.push(data.subarray(start));
      pendingBytes += data.length - start;
      if (pendingBytes > MAX_LINE_BYTES) {
        overlong = true;
        pending = [];
        pendingBytes = 0;
      }
    }
  }
  if (pending.length > 0 || overlong) finish(Buffer.alloc(0));
  return reader.result();
}
