// The standalone server's `/__admin/<action>` endpoint: fault injection and the request log over
// HTTP for processes that cannot call the in-process API (JSON body = the in-process arguments).
import { badRequest, pathNotFound } from './errors.js';
import type { FaultInjector } from './faults.js';
import type { RequestLog } from './requestlog.js';
import { isRecord } from './types.js';

export function handleAdmin(faults: FaultInjector, requests: RequestLog, url: URL, body: string): unknown {
  let input: unknown = {};
  try {
    if (body.trim() !== '') input = JSON.parse(body);
  } catch (e) {
    throw badRequest(`admin request body: ${(e as Error).message}`);
  }
  const args = isRecord(input) ? input : {};
  const action = url.pathname.slice('/__admin/'.length);
  switch (action) {
    case 'failNext':
      faults.failNext(Number(args.count ?? 1), args as never);
      return { ok: true };
    case 'failRandomly':
      faults.failRandomly(Number(args.probability ?? 0.5), args as never);
      return { ok: true };
    case 'latency':
      faults.addLatency(Number(args.ms ?? 0), args as never);
      return { ok: true };
    case 'closeWatches':
      return { closed: faults.closeWatches(args as never) };
    case 'expireWatches':
      return { expired: faults.expireWatches(args as never) };
    case 'stallWatches':
      faults.stallWatches(args as never, args.includeNew === true);
      return { ok: true };
    case 'compactHistory':
      faults.compactHistory();
      return { ok: true };
    case 'clearFaults':
      faults.clear();
      return { ok: true };
    case 'requests':
      return requests.query(args as never);
    case 'counters':
      return requests.counters();
    default:
      throw pathNotFound();
  }
}
