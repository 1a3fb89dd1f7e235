import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  runInSandbox,
  SandboxError,
  type SandboxGlobals,
  type SandboxHost,
  type SandboxLimits,
  type SandboxScript,
} from '../src/runtime/sandbox.ts';

const FILE = 'wf/test.js';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface AgentOpts {
  delayMs?: number;
  never?: boolean;
  [key: string]: unknown;
}

/** A host whose agent answers `answer:<prompt>` after a timer, and which records everything. */
function fakeHost(options: { spent?: number; workflows?: Record<string, SandboxScript>; huge?: boolean } = {}) {
  const record = {
    logs: [] as string[],
    phases: [] as string[],
    warnings: [] as string[],
    agentCalls: [] as Array<{ prompt: string; opts: AgentOpts }>,
    workflowCalls: [] as unknown[],
    events: [] as string[],
    inFlight: 0,
    maxInFlight: 0,
    settledAfterEnd: 0,
  };
  const host: SandboxHost = {
    async call(kind, payload) {
      if (kind === 'workflow') {
        record.workflowCalls.push(payload);
        const { name } = payload as { name: string };
        const script = options.workflows?.[name];
        if (!script) throw new Error(`no workflow named ${name}`);
        return script;
      }
      const { prompt, opts } = payload as { prompt: string; opts: AgentOpts };
      record.agentCalls.push({ prompt, opts });
      record.events.push(`start ${prompt}`);
      record.inFlight++;
      record.maxInFlight = Math.max(record.maxInFlight, record.inFlight);
      try {
        if (opts.never) await new Promise(() => {});
        await sleep(opts.delayMs ?? 5);
        if (prompt.startsWith('fail:')) throw new Error(prompt.slice('fail:'.length));
        if (options.huge) return 'x'.repeat(9 * 1024 * 1024);
        return `answer:${prompt}`;
      } finally {
        record.inFlight--;
        record.events.push(`end ${prompt}`);
      }
    },
    log: (message) => void record.logs.push(message),
    phase: (title) => void record.phases.push(title),
    warn: (message) => void record.warnings.push(message),
    budgetSpent: () => options.spent ?? 0,
  };
  return { host, record };
}

const defaultGlobals: SandboxGlobals = { args: null, budgetTotal: null };

function run(
  body: string,
  { globals = defaultGlobals, host = fakeHost().host, limits = {} }: {
    globals?: SandboxGlobals;
    host?: SandboxHost;
    limits?: Partial<SandboxLimits>;
  } = {},
): Promise<unknown> {
  return runInSandbox({ body, file: FILE }, globals, host, limits);
}

async function failure(promise: Promise<unknown>): Promise<SandboxError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof SandboxError, `expected a SandboxError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the sandbox to fail');
}

/** After a sandbox is killed, the process must still run a fresh one normally. */
async function assertSandboxStillWorks(): Promise<void> {
  assert.deepEqual(await run(`return [await agent('again'), 1 + 1]`), ['answer:again', 2]);
}

describe('agent()', () => {
  test('resolves to the host answer and passes JSON-copied options', async () => {
    const { host, record } = fakeHost();
    const result = await run(
      `const opts = { label: 'L', schema: { type: 'object' }, dropped: () => 1 };
       return await agent('hello', opts)`,
      { host },
    );
    assert.equal(result, 'answer:hello');
    assert.deepEqual(record.agentCalls, [{ prompt: 'hello', opts: { label: 'L', schema: { type: 'object' } } }]);
  });

  test('a host rejection is thrown in the script with the same message', async () => {
    const result = await run(`try { await agent('fail:quota exhausted'); return 'no error' } catch (e) { return [e instanceof Error, e.message] }`);
    assert.deepEqual(result, [true, 'quota exhausted']);
  });

  test('a non-string prompt or non-object opts is a TypeError that says what was wrong', async () => {
    const result = await run(`
      const out = [];
      for (const attempt of [() => agent(42), () => agent({ text: 'x' }), () => agent('ok', 'opus')]) {
        try { attempt(); out.push('no error') } catch (e) { out.push(e.name + ': ' + e.message) }
      }
      return out`);
    assert.deepEqual(result, [
      'TypeError: agent(prompt, opts?): prompt must be a string, got number 42',
      'TypeError: agent(prompt, opts?): prompt must be a string, got an object',
      'TypeError: agent(prompt, opts?): opts must be an object, got string "opus"',
    ]);
  });

  test('data past the 8 MB cap is refused with a clear error, both ways', async () => {
    const tooBigPrompt = await run(`try { await agent('x'.repeat(9 * 1024 * 1024)) } catch (e) { return e.message }`);
    assert.match(String(tooBigPrompt), /agent\(\) arguments is 9\.0 MB as JSON; the limit is 8\.0 MB/);
    const { host } = fakeHost({ huge: true });
    const tooBigAnswer = await run(`try { await agent('x') } catch (e) { return e.message }`, { host });
    assert.match(String(tooBigAnswer), /agent\(\) result is 9\.0 MB as JSON; the limit is 8\.0 MB/);
  });

  test('32 agents started by parallel() are all in flight at the host at once', async () => {
    const { host, record } = fakeHost();
    const result = (await run(
      `return await parallel(Array.from({ length: 32 }, (_, i) => () => agent('a' + i, { delayMs: 100 })))`,
      { host },
    )) as string[];
    assert.equal(result.length, 32);
    assert.equal(result[31], 'answer:a31');
    assert.equal(record.maxInFlight, 32);
  });
});

describe('parallel()', () => {
  test('never rejects: throwing, rejecting and non-function thunks give null, results in input order', async () => {
    const { host, record } = fakeHost();
    const result = await run(
      `return await parallel([
        () => agent('slow', { delayMs: 60 }),
        () => { throw new Error('sync throw') },
        async () => { throw new Error('async throw') },
        'not a function',
        () => agent('fail:host refused'),
        () => agent('fast', { delayMs: 1 }),
        () => 7,
      ])`,
      { host },
    );
    assert.deepEqual(result, ['answer:slow', null, null, null, null, 'answer:fast', 7]);
    assert.equal(record.warnings.length, 4);
    assert.match(record.warnings.join('\n'), /item 1 failed, its result is null: sync throw/);
    assert.match(record.warnings.join('\n'), /item 3 is string "not a function", not a function/);
  });

  test('is a barrier: it resolves only after every thunk settled', async () => {
    const { host, record } = fakeHost();
    await run(`await parallel([() => agent('a', { delayMs: 1 }), () => agent('b', { delayMs: 50 })]); await agent('after')`, {
      host,
    });
    assert.ok(record.events.indexOf('end b') < record.events.indexOf('start after'), record.events.join(', '));
  });
});

describe('pipeline()', () => {
  test('stages get (prevResult, item, index); the first stage gets the item itself', async () => {
    const result = await run(
      `return await pipeline(['a', 'b'], (prev, item, index) => [prev, item, index], (prev, item, index) => ({ prev, item, index }))`,
    );
    assert.deepEqual(result, [
      { prev: ['a', 'a', 0], item: 'a', index: 0 },
      { prev: ['b', 'b', 1], item: 'b', index: 1 },
    ]);
  });

  test('no barrier between stages: item 0 reaches stage 2 while item 1 is still in stage 1', async () => {
    const { host, record } = fakeHost();
    const result = await run(
      `return await pipeline(['fast', 'slow'],
        (item) => agent('s1:' + item, { delayMs: item === 'slow' ? 150 : 5 }),
        (prev, item) => agent('s2:' + item, { delayMs: 5 }))`,
      { host },
    );
    assert.deepEqual(result, ['answer:s2:fast', 'answer:s2:slow']);
    const events = record.events;
    assert.ok(events.indexOf('start s2:fast') < events.indexOf('end s1:slow'), events.join(', '));
  });

  test('a throwing stage turns its item into null and skips the later stages; the call never rejects', async () => {
    const { host, record } = fakeHost();
    const result = await run(
      `return await pipeline([1, 2, 3],
        (n) => { if (n === 2) throw new Error('two is bad'); return n * 10 },
        (n) => agent('fail:' + n).catch(() => n) ,
        (n, item) => { log('stage 3 saw item ' + item); if (n === 30) return Promise.reject(new Error('late')); return n + 1 })`,
      { host },
    );
    assert.deepEqual(result, [11, null, null]);
    assert.deepEqual(record.logs, ['stage 3 saw item 1', 'stage 3 saw item 3']);
    assert.equal(record.agentCalls.length, 2, 'item 2 must not reach stage 2');
    assert.match(record.warnings.join('\n'), /item 1 failed in stage 1, its result is null: two is bad/);
  });

  test('with no stages it resolves to the items', async () => {
    assert.deepEqual(await run(`return await pipeline([1, 'two'])`), [1, 'two']);
  });
});

describe('items per call', () => {
  for (const callee of ['parallel', 'pipeline']) {
    test(`${callee}() takes 4,096 items and refuses 4,097 with an explicit error`, async () => {
      const items = callee === 'parallel' ? '() => i' : 'i';
      const ok = (await run(`return (await ${callee}(Array.from({ length: 4096 }, (_, i) => ${items}))).length`)) as number;
      assert.equal(ok, 4096);
      const refused = await run(
        `try { await ${callee}(Array.from({ length: 4097 }, (_, i) => ${items})); return 'accepted' } catch (e) { return e.message }`,
      );
      assert.match(
        String(refused),
        new RegExp(`^${callee}\\(\\) got 4097 items; the limit is 4096 per call: split the work into batches`),
      );
    });
  }

  test('the limit follows globals.maxItemsPerCall', async () => {
    const refused = await run(`try { await parallel([() => 1, () => 2, () => 3]) } catch (e) { return e.message }`, {
      globals: { ...defaultGlobals, maxItemsPerCall: 2 },
    });
    assert.match(String(refused), /got 3 items; the limit is 2 per call/);
  });
});

describe('phase(), log(), args, budget', () => {
  test('phase and log reach the host; a log of a non-string is stringified, a phase title must be a string', async () => {
    const { host, record } = fakeHost();
    const refused = await run(
      `phase('Map'); log('plain'); log({ files: 2 }); log(42); console.log('via console', 1)
       try { phase(7) } catch (e) { return e.name + ': ' + e.message }`,
      { host },
    );
    assert.equal(refused, 'TypeError: phase(title): title must be a string, got number 7');
    assert.deepEqual(record.phases, ['Map']);
    assert.deepEqual(record.logs, ['plain', '{"files":2}', '42', 'via console 1']);
  });

  test('args is a deep-frozen copy: sloppy writes are ignored, strict writes throw, the host value is untouched', async () => {
    const original = { concern: 'auth', paths: ['a', { deep: 1 }] };
    const globals = { ...defaultGlobals, args: original };
    const sloppy = await run(
      `args.concern = 'changed'; args.paths[1].deep = 2; args = 'replaced';
       let pushed; try { args.paths.push('x'); pushed = 'pushed' } catch (e) { pushed = e.name }
       return { args, pushed, frozen: Object.isFrozen(args.paths[1]) }`,
      { globals },
    );
    assert.deepEqual(sloppy, { args: original, pushed: 'TypeError', frozen: true });
    const strict = await run(
      `'use strict';
       const errors = [];
       for (const write of [() => { args.paths[1].deep = 2 }, () => { args.extra = 1 }, () => { delete args.concern }]) {
         try { write(); errors.push('written') } catch (e) { errors.push(e.name) }
       }
       return errors`,
      { globals },
    );
    assert.deepEqual(strict, ['TypeError', 'TypeError', 'TypeError']);
    assert.deepEqual(original, { concern: 'auth', paths: ['a', { deep: 1 }] });
    assert.equal(await run(`return typeof args`, { globals: { ...defaultGlobals, args: undefined } }), 'undefined');
    assert.equal(await run(`return args + '!'`, { globals: { ...defaultGlobals, args: 'a string' } }), 'a string!');
  });

  test('budget reports total, spent() and remaining(), and is frozen', async () => {
    const body = `budget.total = 1; return [budget.total, budget.spent(), budget.remaining(), Object.isFrozen(budget), budget.total === Infinity]`;
    assert.deepEqual(await run(body, { globals: { ...defaultGlobals, budgetTotal: 1000 }, host: fakeHost({ spent: 250 }).host }), [
      1000, 250, 750, true, false,
    ]);
    assert.deepEqual(await run(body, { globals: { ...defaultGlobals, budgetTotal: 100 }, host: fakeHost({ spent: 250 }).host }), [
      100, 250, 0, true, false,
    ]);
    // Without a budget total is null, as in Claude Code; remaining() is Infinity, which JSON shows as null.
    assert.deepEqual(await run(body, { globals: { ...defaultGlobals, budgetTotal: null }, host: fakeHost({ spent: 5 }).host }), [
      null, 5, null, true, false,
    ]);
    assert.equal(await run('return budget.remaining() === Infinity && budget.total === null', { globals: { ...defaultGlobals, budgetTotal: null } }), true);
  });
});

describe('determinism guards', () => {
  const why = /a resumed run replays journaled results, so time and randomness would send the script down a different path/;
  for (const [call, instead] of [
    ['Date.now()', /Pass the time in through args instead; new Date\(x\) with an argument works/],
    ['Math.random()', /Pass a seed or the values in through args instead/],
    ['new Date()', /Pass the time in through args instead/],
    ['Date()', /Pass the time in through args instead/],
  ] as const) {
    test(`${call} throws and says why and what to do instead`, async () => {
      const message = await run(`try { ${call}; return 'allowed' } catch (e) { return e.message }`);
      assert.match(String(message), why);
      assert.match(String(message), instead);
    });
  }

  test('new Date(x), Date.parse, Date.UTC, instanceof and prototype methods keep working', async () => {
    const result = await run(
      `const d = new Date(0);
       class Stamp extends Date {}
       return [d.toISOString(), d instanceof Date, d.constructor === Date, Date.parse('2020-01-01T00:00:00Z'),
         Date.UTC(2020, 0, 1), new Date(2020, 5, 1).getMonth(), new Date('2021-03-04').getUTCDate(),
         new Stamp(5).getTime(), Object.prototype.toString.call(d), Date.length]`,
    );
    assert.deepEqual(result, [
      '1970-01-01T00:00:00.000Z', true, true, 1577836800000, 1577836800000, 5, 4, 5, '[object Date]', 7,
    ]);
  });
});

describe('no way out of the sandbox', () => {
  test('host globals do not exist', async () => {
    const result = await run(
      `return [typeof process, typeof require, typeof fetch, typeof ivm, typeof module, typeof Buffer, typeof setTimeout,
         typeof $0, typeof $1, typeof installWorkflowGlobals]`,
    );
    assert.deepEqual(result, Array(10).fill('undefined'));
  });

  test('the Function constructor reaches only the isolate global', async () => {
    const result = await run(
      `const g = (function () {}).constructor('return this')();
       let viaThis;
       try { viaThis = this.constructor.constructor('return process')() } catch (e) { viaThis = e.name + ': ' + e.message }
       return [g === globalThis, typeof g.process, typeof g.require, viaThis]`,
    );
    assert.deepEqual(result, [true, 'undefined', 'undefined', 'ReferenceError: process is not defined']);
  });

  test('dynamic import rejects', async () => {
    const result = await run(`try { await eval("import('node:fs')"); return 'imported' } catch (e) { return 'rejected' }`);
    assert.equal(result, 'rejected');
  });

  test('globalThis holds no isolated-vm handle and only the workflow globals are added', async () => {
    const result = (await run(
      `const handles = /^(Reference|Callback|ExternalCopy|Isolate|Context|Script|Module|Dereference|Copy)$/;
       const leaks = [];
       const visit = (name, value) => {
         if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return;
         const ctor = Object.getPrototypeOf(value)?.constructor?.name ?? '';
         if (handles.test(ctor)) leaks.push(name);
       };
       for (const name of Object.getOwnPropertyNames(globalThis)) {
         const value = globalThis[name];
         visit(name, value);
         if (value && (typeof value === 'object' || typeof value === 'function')) {
           for (const key of Object.getOwnPropertyNames(value)) {
             try { visit(name + '.' + key, value[key]) } catch {}
           }
         }
       }
       return { leaks, names: Object.getOwnPropertyNames(globalThis) }`,
    )) as { leaks: string[]; names: string[] };
    assert.deepEqual(result.leaks, []);
    for (const name of ['agent', 'parallel', 'pipeline', 'phase', 'log', 'args', 'budget', 'workflow', 'change', 'gate', 'propose', 'discard', 'fix']) {
      assert.ok(result.names.includes(name), `missing global ${name}`);
    }
    // Node's own global has every standard built-in, so whatever the isolate has beyond it was added.
    const nodeGlobals = new Set(Object.getOwnPropertyNames(globalThis));
    const added = result.names.filter((name) => !nodeGlobals.has(name));
    assert.deepEqual(added.sort(), ['agent', 'args', 'budget', 'change', 'discard', 'fix', 'gate', 'log', 'parallel', 'phase', 'pipeline', 'propose', 'workflow']);
  });

  test('stack frames of the globals expose neither functions nor receivers', async () => {
    const result = await run(
      `const seen = [];
       Error.prepareStackTrace = (error, frames) => {
         for (const frame of frames) seen.push(frame.getThis(), frame.getFunction());
         return 'captured';
       };
       try { agent(Symbol('x')) } catch (e) { e.stack }
       try { await agent('fail:x') } catch (e) { e.stack }
       try { await parallel(7) } catch (e) { e.stack }
       Error.prepareStackTrace = undefined;
       return seen.filter((v) => v && v !== globalThis && !String(v).includes('async function () {'))
         .map((v) => Object.getPrototypeOf(v)?.constructor?.name)`,
    );
    assert.deepEqual(result, []);
  });
});

describe('workflow()', () => {
  const workflows: Record<string, SandboxScript> = {
    inner: {
      file: '.claude/workflows/inner.js',
      body: `const meta = { name: 'inner', description: 'x' }
        let mutated; try { args.items.push(9); mutated = 'yes' } catch { mutated = 'no' }
        return { args, mutated, answer: await agent('inner:' + args.items.join(',')) }`,
    },
    nester: {
      file: '.claude/workflows/nester.js',
      body: `return await workflow('inner', { items: [] })`,
    },
    thrower: {
      file: '.claude/workflows/thrower.js',
      body: `const meta = {}\n\n  throw new Error('inner broke')`,
    },
  };

  test('runs the nested script inline with its own deep-frozen args', async () => {
    const { host, record } = fakeHost({ workflows });
    const result = await run(`const r = await workflow('inner', { items: [1, 2] }); return { r, outerArgs: args }`, {
      host,
      globals: { ...defaultGlobals, args: 'outer' },
    });
    assert.deepEqual(result, {
      r: { args: { items: [1, 2] }, mutated: 'no', answer: 'answer:inner:1,2' },
      outerArgs: 'outer',
    });
    // The nested script's args stay in the isolate: only its name crosses to the host.
    assert.deepEqual(record.workflowCalls, [{ name: 'inner' }]);
  });

  test('nests one level only', async () => {
    const { host } = fakeHost({ workflows });
    const result = await run(`try { await workflow('nester'); return 'nested twice' } catch (e) { return e.message }`, {
      host,
    });
    assert.equal(result, 'workflow() nests one level: nester cannot call workflow()');
  });

  test('an unknown workflow and a nested error surface as script errors with their file and line', async () => {
    const { host } = fakeHost({ workflows });
    assert.equal(await run(`try { await workflow('nope') } catch (e) { return e.message }`, { host }), 'no workflow named nope');
    const error = await failure(run(`await workflow('thrower')`, { host }));
    assert.equal(error.reason, 'script');
    assert.match(error.message, /^Error: inner broke\n\s+at \.claude\/workflows\/thrower\.js:3:9/);
  });
});

describe('how a run ends', () => {
  test('the result is JSON round-tripped; undefined becomes null', async () => {
    assert.equal(await run(`const x = 1`), null);
    assert.deepEqual(await run(`return { n: 1, skipped: undefined, f() {}, list: [undefined] }`), { n: 1, list: [null] });
  });

  test('a result that is not JSON-serialisable fails with reason "result"', async () => {
    for (const body of [`return 10n`, `const a = {}; a.self = a; return a`, `return () => 1`]) {
      const error = await failure(run(body));
      assert.equal(error.reason, 'result', body);
      assert.match(error.message, new RegExp(`^${FILE}: the script`), body);
    }
  });

  test('an uncaught script error reports its message, file and line', async () => {
    const error = await failure(run(`const meta = {}\nawait agent('x')\n  null.boom`));
    assert.equal(error.reason, 'script');
    assert.match(error.message, /^TypeError: Cannot read properties of null \(reading 'boom'\)\n\s+at wf\/test\.js:3:8$/);
    assert.doesNotMatch(error.scriptStack ?? '', /sandbox-prelude|isolated-vm/);

    const onFirstLine = await failure(run(`throw new RangeError('first line')`));
    assert.match(onFirstLine.message, /^RangeError: first line\n\s+at wf\/test\.js:1:7$/);

    const thrownString = await failure(run(`throw 'just a string'`));
    assert.match(thrownString.message, /the script threw a non-Error value: just a string/);
  });

  test('a guard error points at the script line that called it', async () => {
    const error = await failure(run(`const meta = {}\nconst t = Date.now()`));
    assert.match(error.message, /Date\.now\(\) is not available[^]*\n\s+at wf\/test\.js:2:16$/);
  });

  test('a syntax error reports file, line and column', async () => {
    const error = await failure(run(`const ok = 1\nconst = 2`));
    assert.equal(error.reason, 'script');
    assert.match(error.message, /^SyntaxError: .*\[wf\/test\.js:2:7\]/);
  });
});

describe('limits', () => {
  const bomb = `const hoard = []; while (true) hoard.push(new Array(100_000).fill(hoard.length))`;

  for (const [when, prefix] of [
    ['before any await', ''],
    ['after an await that resolved from a host call', `await agent('first');\n`],
  ]) {
    test(`a memory bomb ${when} stops with reason "memory"`, async () => {
      const error = await failure(run(prefix + bomb, { limits: { memoryLimitMb: 32 } }));
      assert.equal(error.reason, 'memory');
      assert.match(error.message, /exceeded its memory limit of 32 MB/);
      assert.match(error.message, /Lower the script's memory use .* or raise the memory limit/);
      await assertSandboxStillWorks();
    });

    test(`an endless loop ${when} stops with reason "cpu"`, async () => {
      const started = performance.now();
      const error = await failure(run(prefix + 'while (true) {}', { limits: { cpuLimitMs: 300 } }));
      assert.equal(error.reason, 'cpu');
      assert.match(error.message, /used more than 300 ms of CPU time/);
      assert.match(error.message, /Fix the loop, move heavy work into agents, or raise the CPU limit/);
      assert.ok(performance.now() - started < 3000, 'the watchdog should stop it soon after the limit');
      await assertSandboxStillWorks();
    });
  }

  test('a limit passed as undefined falls back to its default', async () => {
    const limits = { memoryLimitMb: undefined, cpuLimitMs: undefined, wallLimitMs: undefined };
    assert.equal(await run(`return await agent('x')`, { limits }), 'answer:x');
  });

  test('time spent waiting for agents does not count as CPU time', async () => {
    assert.equal(await run(`return await agent('slow', { delayMs: 400 })`, { limits: { cpuLimitMs: 200 } }), 'answer:slow');
  });

  test('the wall-clock limit stops a run that waits too long, with reason "wall"', async () => {
    const error = await failure(run(`await agent('stuck', { never: true })`, { limits: { wallLimitMs: 200 } }));
    assert.equal(error.reason, 'wall');
    assert.match(error.message, /took longer than its wall-clock limit of 200 ms/);
    assert.match(error.message, /or raise the wall-clock limit/);
    await assertSandboxStillWorks();
  });

  test('host calls still pending when the sandbox dies settle harmlessly', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { host, record } = fakeHost();
      const error = await failure(
        run(
          `agent('late', { delayMs: 400 }); agent('fail:late failure', { delayMs: 400 }); workflow('missing');
           await agent('first'); while (true) {}`,
          { host, limits: { cpuLimitMs: 100 } },
        ),
      );
      assert.equal(error.reason, 'cpu');
      assert.ok(record.inFlight > 0, 'the test needs calls still in flight when the sandbox dies');
      await sleep(500);
      assert.equal(record.inFlight, 0);
      // A run that returns without awaiting its agents is the same situation.
      assert.equal(await run(`agent('orphan', { delayMs: 50 }); return 'done'`, { host }), 'done');
      await sleep(100);
      assert.deepEqual(unhandled, []);
      await assertSandboxStillWorks();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('the host-call protocol (contracts/host-calls.ts)', () => {
  /** A host that records each call as it arrives and answers as the engine would. */
  function recordingHost() {
    const calls: Array<[string, unknown]> = [];
    const host: SandboxHost = {
      async call(kind, request) {
        calls.push([kind, request]);
        if (kind === 'gate') return { passed: true, steps: [] };
        if (kind === 'workflow') return { body: 'return 1', file: 'inner.js' };
        return 'ok';
      },
      log: () => {},
      phase: () => {},
      warn: () => {},
      budgetSpent: () => 0,
    };
    return { host, calls };
  }

  test('the prelude sends each call only what the host uses: a change crosses as its id, reserved gate options and nested args stay in the isolate', async () => {
    const { host, calls } = recordingHost();
    const change = `{ id: 'c1', label: 'l', diff: 'x'.repeat(50000), files: [] }`;
    await run(`const c = ${change}; await agent('read', { cwd: c, label: 'r' }); await gate(c, { timeoutMs: 5 }); await workflow('inner', { big: 'y'.repeat(1000) }); return 1`, { host });
    assert.deepEqual(calls, [
      ['agent', { prompt: 'read', opts: { cwd: { id: 'c1' }, label: 'r' } }],
      ['gate', { change: 'c1' }],
      ['workflow', { name: 'inner' }],
    ]);
  });

  test('gate() still refuses options that are not an object', async () => {
    const { host } = recordingHost();
    const message = await run(`try { await gate({ id: 'c1' }, 'fast'); return 'allowed' } catch (e) { return e.message }`, { host });
    assert.equal(message, "gate(change, opts?): opts must be an object, got string \"fast\"");
  });
});
