// Behaviour of the keyed work queue: dedup, per-key exclusion, concurrency, backoff, Retry-After,
// requeueAfter, lanes, shutdown and metrics. Timing checks are lower bounds only (never "faster than").
import { expect } from 'chai';
import {
  WorkQueue,
  type ReconcileOutcome,
  type ReconcileResult,
  type WorkQueueMetrics,
  type WorkQueueOptions,
} from '../../src/reconcile/workqueue.js';

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}

/** Lets queued microtasks and I/O callbacks run (the queue picks work in a microtask). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A 429 as the API layer reports it. */
class TooManyRequestsError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('429 Too Many Requests');
  }
}

// Node schedules timers from the event loop's cached clock, so a timer can fire a little before
// `delay` has passed by performance.now(); lower bounds allow for that slack.
function atLeast(delayMs: number): number {
  return delayMs * 0.9 - 2;
}

describe('WorkQueue', () => {
  const queues: WorkQueue[] = [];

  function newQueue(options: Omit<WorkQueueOptions, 'controller'> & { controller?: string }): WorkQueue {
    const queue = new WorkQueue({ controller: 'test', ...options });
    queues.push(queue);
    return queue;
  }

  /** A single-worker queue whose first key, `blocker`, holds the worker until released; it records run order. */
  function blockedQueue(): { queue: WorkQueue; blocker: Deferred<void>; runs: string[] } {
    const blocker = deferred();
    const runs: string[] = [];
    const queue = newQueue({
      concurrency: 1,
      reconcile: async (key) => {
        runs.push(key);
        if (key === 'blocker') await blocker.promise;
      },
    });
    queue.add('blocker');
    return { queue, blocker, runs };
  }

  // Clears any pending delayed re-adds so mocha can exit on its own.
  afterEach(() => {
    for (const queue of queues.splice(0)) void queue.shutDown();
  });

  describe('coalescing (coalesceMs)', () => {
    it('runs a key once, coalesceMs after the first of many adds, and counts as busy until then', async () => {
      const runs: Array<{ key: string; at: number }> = [];
      const queue = newQueue({ reconcile: async (key) => void runs.push({ key, at: performance.now() }) });
      const start = performance.now();
      for (let i = 0; i < 50; i++) queue.add('status/a', { coalesceMs: 60 });
      queue.add('status/b', { coalesceMs: 60 });
      expect(queue.isIdle()).to.equal(false);
      await queue.waitForIdle();
      expect(runs.map((run) => run.key).sort()).to.deep.equal(['status/a', 'status/b']);
      for (const run of runs) expect(run.at - start).to.be.at.least(atLeast(60));
      // The window is over: the next coalesced add opens a new one and runs again.
      queue.add('status/a', { coalesceMs: 20 });
      await queue.waitForIdle();
      expect(runs.map((run) => run.key).filter((key) => key === 'status/a')).to.have.length(2);
    });

    it('drops coalescing keys on shutDown: they never run, and whoever waits for idle is told', async () => {
      const runs: string[] = [];
      const queue = newQueue({ reconcile: async (key) => void runs.push(key) });
      queue.add('status/a', { coalesceMs: 10_000 });
      let idle = false;
      const waiting = queue.waitForIdle().then(() => (idle = true));
      await settle();
      expect(idle).to.equal(false);
      await queue.shutDown();
      await waiting;
      expect(idle).to.equal(true);
      expect(runs).to.deep.equal([]);
    });

    it('coalesces with coalesceMs 0 too: many adds in one tick, one run', async () => {
      const runs: string[] = [];
      const queue = newQueue({ reconcile: async (key) => void runs.push(key) });
      for (let i = 0; i < 10; i++) queue.add('status/a', { coalesceMs: 0 });
      await queue.waitForIdle();
      expect(runs).to.deep.equal(['status/a']);
    });
  });

  describe('deduplication', () => {
    it('runs a key added several times while it waits only once', async () => {
      const { queue, blocker, runs } = blockedQueue();
      await settle();
      queue.add('a');
      queue.add('a');
      queue.add('a', { priority: 'low' });
      expect(queue.len()).to.equal(1);
      blocker.resolve();
      await queue.waitForIdle();
      expect(runs).to.deep.equal(['blocker', 'a']);
    });

    it('runs a key added during its reconcile once more, after the current run ends', async () => {
      const firstRunMayFinish = deferred();
      const firstRunStarted = deferred();
      const events: string[] = [];
      let run = 0;
      const queue = newQueue({
        reconcile: async (key) => {
          run += 1;
          const thisRun = run;
          events.push(`start ${key}#${thisRun}`);
          if (thisRun === 1) {
            firstRunStarted.resolve();
            await firstRunMayFinish.promise;
          }
          events.push(`end ${key}#${thisRun}`);
        },
      });
      queue.add('a');
      await firstRunStarted.promise;
      queue.add('a');
      queue.add('a');
      await settle();
      expect(events, 'no second run while the first is in flight').to.deep.equal(['start a#1']);
      expect(queue.len(), 'a key being processed is not counted as waiting').to.equal(0);
      firstRunMayFinish.resolve();
      await queue.waitForIdle();
      expect(events).to.deep.equal(['start a#1', 'end a#1', 'start a#2', 'end a#2']);
    });

    it('never reconciles one key concurrently, and every add is followed by a run that starts after it', async () => {
      const active = new Map<string, number>();
      let maxActivePerKey = 0;
      let addSequence = 0;
      const lastRunStartSequence = new Map<string, number>();
      const queue = newQueue({
        concurrency: 4,
        reconcile: async (key) => {
          lastRunStartSequence.set(key, addSequence);
          const now = (active.get(key) ?? 0) + 1;
          active.set(key, now);
          maxActivePerKey = Math.max(maxActivePerKey, now);
          await sleep(key.length % 2); // vary interleavings a little
          await settle();
          active.set(key, now - 1);
        },
      });
      const keys = ['a', 'bb', 'c', 'dd'];
      const lastAddSequence = new Map<string, number>();
      for (let round = 0; round < 40; round += 1) {
        const key = keys[round % keys.length] as string;
        addSequence += 1;
        lastAddSequence.set(key, addSequence);
        queue.add(key, { priority: round % 3 === 0 ? 'low' : 'normal' });
        if (round % 5 === 0) await settle();
      }
      await queue.waitForIdle();
      expect(maxActivePerKey).to.equal(1);
      for (const key of keys) {
        expect(lastRunStartSequence.get(key), `last run of ${key} started after its last add`).to.be.at.least(
          lastAddSequence.get(key) as number,
        );
      }
    });
  });

  describe('concurrency', () => {
    async function maxInFlight(concurrency: number | undefined): Promise<{ max: number; runs: number }> {
      const release = deferred();
      let inFlight = 0;
      let max = 0;
      let runs = 0;
      const queue = newQueue({
        ...(concurrency === undefined ? {} : { concurrency }),
        reconcile: async () => {
          inFlight += 1;
          runs += 1;
          max = Math.max(max, inFlight);
          await release.promise;
          inFlight -= 1;
        },
      });
      for (let i = 0; i < 10; i += 1) queue.add(`key-${i}`);
      await settle();
      const inFlightWhileBlocked = inFlight;
      release.resolve();
      await queue.waitForIdle();
      expect(inFlightWhileBlocked).to.equal(max);
      return { max, runs };
    }

    it('runs at most `concurrency` reconciles at once, and all keys eventually', async () => {
      expect(await maxInFlight(3)).to.deep.equal({ max: 3, runs: 10 });
    });

    it('defaults to 4', async () => {
      expect(await maxInFlight(undefined)).to.deep.equal({ max: 4, runs: 10 });
    });

    it('rejects a concurrency that is not a positive integer', () => {
      expect(() => new WorkQueue({ controller: 'test', concurrency: 0, reconcile: async () => {} })).to.throw(
        RangeError,
      );
    });
  });

  describe('retries', () => {
    it('backs off exponentially per key up to the cap, and resets after a success', async () => {
      const retryDelays: Array<[string, number | undefined]> = [];
      let failuresLeft = 6;
      let succeeded = deferred();
      const queue = newQueue({
        backoffBaseMs: 2,
        backoffCapMs: 16,
        onError: (key, _error, retryInMs) => retryDelays.push([key, retryInMs]),
        reconcile: async () => {
          if (failuresLeft > 0) {
            failuresLeft -= 1;
            throw new Error('boom');
          }
          succeeded.resolve();
        },
      });
      queue.add('a');
      await succeeded.promise;
      expect(retryDelays.map(([, delay]) => delay)).to.deep.equal([2, 4, 8, 16, 16, 16]);
      expect(retryDelays.every(([key]) => key === 'a')).to.equal(true);

      retryDelays.length = 0;
      failuresLeft = 1;
      succeeded = deferred();
      queue.add('a');
      await succeeded.promise;
      expect(retryDelays, 'the success forgot the earlier failures').to.deep.equal([['a', 2]]);
    });

    it('keeps a separate backoff for each key', async () => {
      const retryDelays: Record<string, number[]> = { a: [], b: [] };
      const failuresLeft: Record<string, number> = { a: 3, b: 1 };
      const queue = newQueue({
        backoffBaseMs: 1,
        onError: (key, _error, retryInMs) => retryDelays[key]?.push(retryInMs as number),
        reconcile: async (key) => {
          if ((failuresLeft[key] ?? 0) > 0) {
            failuresLeft[key] = (failuresLeft[key] ?? 0) - 1;
            throw new Error(`${key} failed`);
          }
        },
      });
      queue.add('a');
      await sleep(10);
      queue.add('b');
      while (failuresLeft.a !== 0 || failuresLeft.b !== 0) await sleep(5);
      await queue.waitForIdle();
      expect(retryDelays).to.deep.equal({ a: [1, 2, 4], b: [1] });
    });

    it('waits at least as long as a Retry-After carried by the error', async () => {
      const retryDelays: Array<number | undefined> = [];
      const runEnds: number[] = [];
      const runStarts: number[] = [];
      const secondRun = deferred();
      const queue = newQueue({
        backoffBaseMs: 1,
        onError: (_key, _error, retryInMs) => retryDelays.push(retryInMs),
        reconcile: async () => {
          runStarts.push(performance.now());
          if (runStarts.length === 1) {
            runEnds.push(performance.now());
            throw new TooManyRequestsError(0.1);
          }
          secondRun.resolve();
        },
      });
      queue.add('a');
      await secondRun.promise;
      expect(retryDelays).to.deep.equal([100]);
      expect((runStarts[1] as number) - (runEnds[0] as number)).to.be.at.least(atLeast(100));
    });

    it('uses the backoff when it is longer than the Retry-After', async () => {
      const retryDelays: Array<number | undefined> = [];
      const queue = newQueue({
        backoffBaseMs: 5_000,
        onError: (_key, _error, retryInMs) => retryDelays.push(retryInMs),
        reconcile: async () => {
          throw new TooManyRequestsError(1);
        },
      });
      queue.add('a');
      await queue.waitForIdle();
      expect(retryDelays).to.deep.equal([5_000]);
    });

    it('does not let a direct add cut short a Retry-After wait', async () => {
      const runStarts: number[] = [];
      const secondRun = deferred();
      const queue = newQueue({
        backoffBaseMs: 1,
        reconcile: async () => {
          runStarts.push(performance.now());
          if (runStarts.length === 1) throw new TooManyRequestsError(0.2);
          secondRun.resolve();
        },
      });
      queue.add('a');
      await settle();
      await sleep(10);
      queue.add('a');
      await secondRun.promise;
      expect(runStarts).to.have.length(2);
      expect((runStarts[1] as number) - (runStarts[0] as number)).to.be.at.least(atLeast(200));
    });

    it('counts failures once per retry interval, however often events run the key meanwhile', async () => {
      // An outage while the key's source keeps changing: every event runs it at once and it fails.
      // Counting each of those runs would reach the cap (and a 1000 s wait) within the outage.
      const retryDelays: number[] = [];
      let failing = true;
      let runsAfterRecovery = 0;
      const recovered = deferred();
      const queue = newQueue({
        backoffBaseMs: 10,
        onError: (_key, _error, retryInMs) => retryDelays.push(retryInMs as number),
        reconcile: async () => {
          if (failing) throw new Error('API unavailable');
          runsAfterRecovery++;
          recovered.resolve();
        },
      });
      const outageEnds = performance.now() + 300;
      while (performance.now() < outageEnds) {
        queue.add('a');
        await sleep(2);
      }
      failing = false;
      expect(retryDelays.length, 'the key ran on every event').to.be.greaterThan(40);
      // 300 ms of failures at 10 ms doubling: at most 10+20+40+80+160(+320) counted, never the cap.
      expect(Math.max(...retryDelays)).to.be.at.most(640);
      // No event after the outage: the retry it is waiting for comes within twice the outage.
      await recovered.promise;
      expect(runsAfterRecovery).to.equal(1);
    });

    it('processes a key added directly while it waits on a retry delay right away', async () => {
      let runs = 0;
      const queue = newQueue({
        backoffBaseMs: 60_000,
        reconcile: async () => {
          runs += 1;
          if (runs === 1) throw new Error('transient');
        },
      });
      queue.add('a');
      await queue.waitForIdle();
      expect(runs).to.equal(1);
      queue.add('a');
      // waitForIdle does not wait for the 60 s retry, so only an immediate run can count here.
      await queue.waitForIdle();
      expect(runs).to.equal(2);
    });
  });

  describe('requeueAfter', () => {
    it('re-adds the key after the delay and reports a requeue', async () => {
      const outcomes: ReconcileOutcome[] = [];
      const times: number[] = [];
      const secondRun = deferred();
      const queue = newQueue({
        metrics: { depthChanged: () => {}, reconcileFinished: (_c, outcome) => outcomes.push(outcome) },
        reconcile: async () => {
          times.push(performance.now());
          if (times.length === 1) return { requeueAfter: 50 };
          secondRun.resolve();
          return {};
        },
      });
      queue.add('a');
      await secondRun.promise;
      await queue.waitForIdle();
      expect(outcomes).to.deep.equal(['requeue', 'success']);
      expect((times[1] as number) - (times[0] as number)).to.be.at.least(atLeast(50));
    });

    it('forgets earlier failures', async () => {
      const retryDelays: Array<number | undefined> = [];
      const script: Array<'fail' | 'requeue' | 'ok'> = ['fail', 'fail', 'requeue', 'fail', 'ok'];
      const done = deferred();
      const queue = newQueue({
        backoffBaseMs: 4,
        onError: (_key, _error, retryInMs) => retryDelays.push(retryInMs),
        reconcile: async (): Promise<ReconcileResult> => {
          const step = script.shift();
          if (step === 'fail') throw new Error('boom');
          if (step === 'requeue') return { requeueAfter: 1 };
          done.resolve();
          return {};
        },
      });
      queue.add('a');
      await done.promise;
      expect(retryDelays).to.deep.equal([4, 8, 4]);
    });

    it('keeps the earliest of two delayed re-adds when a later one arrives', async () => {
      const runEnds: number[] = [];
      const thirdRun = deferred<number>();
      const secondRunDone = deferred();
      const queue = newQueue({
        reconcile: async (): Promise<ReconcileResult> => {
          const run = runEnds.length + 1;
          if (run === 3) {
            thirdRun.resolve(performance.now());
            runEnds.push(performance.now());
            return {};
          }
          runEnds.push(performance.now());
          if (run === 2) setImmediate(() => secondRunDone.resolve());
          return { requeueAfter: run === 1 ? 60 : 60_000 };
        },
      });
      queue.add('a');
      await queue.waitForIdle();
      queue.add('a'); // second run asks for 60 s; the pending 60 ms re-add must survive
      await secondRunDone.promise;
      const thirdRunStart = await thirdRun.promise;
      expect(thirdRunStart - (runEnds[0] as number)).to.be.at.least(atLeast(60));
      await queue.waitForIdle();
      expect(runEnds).to.have.length(3);
    });

    it('replaces a later delayed re-add with an earlier one', async () => {
      let runs = 0;
      const thirdRun = deferred();
      const queue = newQueue({
        reconcile: async (): Promise<ReconcileResult> => {
          runs += 1;
          if (runs === 1) return { requeueAfter: 60_000 };
          if (runs === 2) return { requeueAfter: 10 };
          thirdRun.resolve();
          return {};
        },
      });
      queue.add('a');
      await queue.waitForIdle();
      queue.add('a');
      // Resolves only if the 10 ms re-add replaced the 60 s one (otherwise mocha's timeout fails it).
      await thirdRun.promise;
      await queue.waitForIdle();
      expect(runs).to.equal(3);
    });
  });

  describe('priority', () => {
    it('runs normal adds ahead of low ones and promotes a low key on a normal add', async () => {
      const { queue, blocker, runs: order } = blockedQueue();
      await settle();
      queue.add('low-1', { priority: 'low' });
      queue.add('low-2', { priority: 'low' });
      queue.add('low-3', { priority: 'low' });
      queue.add('live-1');
      queue.add('live-2');
      queue.add('low-3'); // promoted: goes behind the live keys already waiting
      queue.add('live-1', { priority: 'low' }); // a low add never demotes
      expect(queue.len()).to.equal(5);
      blocker.resolve();
      await queue.waitForIdle();
      expect(order).to.deep.equal(['blocker', 'live-1', 'live-2', 'low-3', 'low-1', 'low-2']);
    });

    it('orders a synchronous burst of adds by lane before taking the first key', async () => {
      const order: string[] = [];
      const queue = newQueue({ concurrency: 1, reconcile: async (key) => void order.push(key) });
      queue.add('backlog-1', { priority: 'low' });
      queue.add('backlog-2', { priority: 'low' });
      queue.add('live');
      await queue.waitForIdle();
      expect(order).to.deep.equal(['live', 'backlog-1', 'backlog-2']);
    });

    it('re-runs a key added while processing in the lane it was added with', async () => {
      const blocker = deferred();
      const order: string[] = [];
      const queue = newQueue({
        concurrency: 1,
        reconcile: async (key) => {
          order.push(key);
          if (key === 'a' && order.length === 1) await blocker.promise;
        },
      });
      queue.add('a');
      await settle();
      queue.add('backlog', { priority: 'low' });
      queue.add('a', { priority: 'low' });
      queue.add('a'); // upgrades the pending re-run to normal
      queue.add('a', { priority: 'low' }); // and a low add does not downgrade it again
      blocker.resolve();
      await queue.waitForIdle();
      expect(order).to.deep.equal(['a', 'a', 'backlog']);
    });
  });

  describe('shutDown', () => {
    it('lets in-flight reconciles finish, drops queued keys and ignores later adds', async () => {
      const release = deferred();
      const started: string[] = [];
      const signals: AbortSignal[] = [];
      const queue = newQueue({
        concurrency: 2,
        reconcile: async (key, signal) => {
          started.push(key);
          signals.push(signal);
          await release.promise;
        },
      });
      queue.add('a');
      queue.add('b');
      queue.add('c');
      await settle();
      expect(started).to.deep.equal(['a', 'b']);

      let drained = false;
      const shutdown = queue.shutDown().then(() => {
        drained = true;
      });
      queue.add('d');
      expect(queue.len()).to.equal(0);
      await settle();
      expect(drained, 'waits for in-flight reconciles').to.equal(false);

      release.resolve();
      await shutdown;
      expect(started).to.deep.equal(['a', 'b']);
      expect(signals.every((signal) => !signal.aborted)).to.equal(true);
      expect(queue.shutDown(), 'a second call returns the same promise').to.equal(queue.shutDown());
    });

    it('neither retries failures while draining nor runs retries that were pending', async () => {
      const release = deferred();
      const runs: string[] = [];
      const retryDelays: Array<[string, number | undefined]> = [];
      let shutdown: Promise<void> | undefined;
      const queue = newQueue({
        backoffBaseMs: 20,
        onError: (key, _error, retryInMs) => {
          retryDelays.push([key, retryInMs]);
          // Shut down while 'fast' has a 20 ms retry pending and 'slow' is still in flight.
          if (key === 'fast') shutdown = queue.shutDown();
        },
        reconcile: async (key) => {
          runs.push(key);
          if (key === 'slow') await release.promise;
          throw new Error(`${key} failed`);
        },
      });
      queue.add('slow');
      queue.add('fast');
      await settle();
      expect(shutdown, 'shutDown was called from onError').to.not.equal(undefined);
      release.resolve();
      await shutdown;
      await sleep(40); // well past the retry 'fast' had pending
      expect(runs).to.deep.equal(['slow', 'fast']);
      expect(retryDelays).to.deep.equal([
        ['fast', 20],
        ['slow', undefined],
      ]);
    });

    it('aborts the signal of in-flight reconciles once the drain timeout passes', async () => {
      let seenSignal: AbortSignal | undefined;
      const queue = newQueue({
        reconcile: (_key, signal) => {
          seenSignal = signal;
          return new Promise((_resolve, reject) => {
            signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
          });
        },
      });
      queue.add('stuck');
      await settle();
      const began = performance.now();
      await queue.shutDown({ drainTimeoutMs: 30 });
      expect(seenSignal?.aborted).to.equal(true);
      expect(performance.now() - began).to.be.at.least(atLeast(30));
    });
  });

  describe('metrics', () => {
    it('reports depth changes and each reconcile outcome with its duration and controller', async () => {
      const depths: Array<[string, number]> = [];
      const finished: Array<[string, ReconcileOutcome, number]> = [];
      const metrics: WorkQueueMetrics = {
        depthChanged: (controller, depth) => depths.push([controller, depth]),
        reconcileFinished: (controller, outcome, seconds) => finished.push([controller, outcome, seconds]),
      };
      const blocker = deferred();
      const queue = newQueue({
        controller: 'namespace',
        concurrency: 1,
        metrics,
        backoffBaseMs: 60_000,
        reconcile: async (key): Promise<ReconcileResult> => {
          if (key === 'blocker') await blocker.promise;
          if (key === 'slow') await sleep(20);
          if (key === 'requeue') return { requeueAfter: 60_000 };
          if (key === 'error') throw new Error('boom');
          return {};
        },
      });
      expect(depths, 'the gauge starts at 0').to.deep.equal([['namespace', 0]]);
      queue.add('blocker');
      await settle();
      queue.add('slow');
      queue.add('requeue');
      queue.add('error');
      blocker.resolve();
      await queue.waitForIdle();

      expect(depths.every(([controller]) => controller === 'namespace')).to.equal(true);
      const depthValues = depths.map(([, depth]) => depth);
      expect(Math.max(...depthValues)).to.equal(3);
      expect(depthValues.at(-1)).to.equal(0);

      expect(finished.map(([controller, outcome]) => [controller, outcome])).to.deep.equal([
        ['namespace', 'success'],
        ['namespace', 'success'],
        ['namespace', 'requeue'],
        ['namespace', 'error'],
      ]);
      expect(finished[1]?.[2], 'duration is in seconds').to.be.at.least(atLeast(20) / 1000);
      for (const [, , seconds] of finished) expect(seconds).to.be.at.least(0);
    });
  });

  describe('waitForIdle and len', () => {
    it('resolves at once on an idle queue and does not wait for future delayed re-adds', async () => {
      let runs = 0;
      const queue = newQueue({
        reconcile: async () => {
          runs += 1;
          return { requeueAfter: 60_000 };
        },
      });
      await queue.waitForIdle();
      queue.add('a');
      expect(queue.len()).to.equal(1);
      await queue.waitForIdle();
      expect(runs).to.equal(1);
      expect(queue.len()).to.equal(0);
    });

    it('waits for a delayed re-add whose time has come but whose timer has not fired yet', async () => {
      let runs = 0;
      const queue = newQueue({
        reconcile: async () => {
          runs += 1;
          return runs === 1 ? { requeueAfter: 5 } : {};
        },
      });
      queue.add('a');
      await queue.waitForIdle();
      expect(runs).to.equal(1);
      // Hold the event loop past the re-add's time, so it is due but its timer cannot have run.
      const until = performance.now() + 15;
      while (performance.now() < until) {
        // busy wait on purpose
      }
      await queue.waitForIdle();
      expect(runs).to.equal(2);
    });
  });
});
