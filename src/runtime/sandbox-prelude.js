// Runs inside the isolate, once per sandbox, before the workflow script. sandbox.ts reads this
// file as text and runs it as the body of a context.evalClosure that ends by calling
// installWorkflowGlobals, so every function here, and the isolated-vm References in `host`, live
// only in that closure: nothing the script can reach (globalThis, function objects, stack frames)
// ever holds one. Strict mode (the directive below, for the whole closure) matters here: it keeps
// `fn.arguments`/`fn.caller` and CallSite#getThis/getFunction from exposing this code's frames.
//
// host:   { call, log, phase, warn, budgetSpent }, each an ivm.Reference to a host function.
// configJson: JSON text { argsJson (null = no args), budgetTotal (null = no budget), maxItemsPerCall, maxTransferChars,
//             maxMessageChars, maxTitleChars }.
// Returns runMain(main) for the host: it runs the compiled script and reports how it ended.
//
// The asynchronous host calls and their replies are typed in src/contracts/host-calls.ts, which the
// host checks every request against.
/** @typedef {import('../contracts/host-calls.ts').HostCallKind} HostCallKind */
/** @typedef {import('../contracts/host-calls.ts').HostCallReplies} HostCallReplies */
'use strict';

// Captured now, before the script runs, so that a script which overwrites a built-in cannot change
// how the globals work.
const { parse: parseJson, stringify } = JSON;
const { defineProperty, freeze, isFrozen, getOwnPropertyNames, getOwnPropertyDescriptor } = Object;
const { isArray } = Array;
const { isInteger } = Number;
const indirectEval = globalThis.eval;
const NativeDate = Date;
const { construct, ownKeys } = Reflect;
// Called as sliceText(text, start, end): a script that patches String.prototype later cannot
// change how a message is cut.
const uncurry = (method) => Function.prototype.call.bind(method);
const sliceText = uncurry(String.prototype.slice);
const splitText = uncurry(String.prototype.split);
const NativeArrayBuffer = ArrayBuffer;
const NativeSharedArrayBuffer = SharedArrayBuffer;
const PromiseAll = Promise.all.bind(Promise);
const WeakSetHas = WeakSet.prototype.has;
const WeakSetAdd = WeakSet.prototype.add;

function installWorkflowGlobals(host, configJson) {
  const config = parseJson(configJson);
  const limits = {
    maxItems: config.maxItemsPerCall,
    maxChars: config.maxTransferChars,
    maxMessageChars: config.maxMessageChars,
    maxTitleChars: config.maxTitleChars,
  };
  const boundary = createBoundary(host, limits);
  const { agent, parallel, pipeline } = createAgentCalls(boundary, limits.maxItems);
  const changes = createChangeCalls(boundary);
  const fix = createFix({ agent, parallel, ...changes }, boundary.isRefusal);
  const log = (message) => void boundary.notify('log', toLogText(message));

  guardClock();
  guardMemory();
  installConsole(log, (message) => boundary.notify('warn', toLogText(message)));

  const { change, gate, propose, discard } = changes;
  const globals = {
    agent, parallel, pipeline, phase: createPhase(boundary), log, args: copyFrozen(config.argsJson),
    budget: createBudget(host, config.budgetTotal), workflow: createWorkflow(boundary), change, gate, propose, discard, fix,
  };
  for (const [name, value] of Object.entries(globals)) {
    defineProperty(globalThis, name, { value, writable: false, enumerable: false, configurable: false });
  }
  return createRunMain(limits);
}

// ---- crossing the boundary -------------------------------------------------------------------

const megabytes = (chars) => `${(chars / (1024 * 1024)).toFixed(1)} MB`;

// The one cut for every string that leaves the isolate as text (log, warn, phase, a label, a
// thrown error): made here, before the copy, so the host never holds more than `max` characters of
// it. Cutting a huge string flattens it first, which the isolate's own memory limit pays for.
function bounded(text, max) {
  return text.length > max ? `${sliceText(text, 0, max)}… [cut: ${text.length} characters in all, the limit is ${max}]` : text;
}

// What the prelude's globals use to reach the host: the async calls, the notifications, and
// which errors were refusals.
function createBoundary(host, limits) {
  const { maxChars, maxMessageChars, maxTitleChars } = limits;

  function toJson(value, what) {
    let json;
    try {
      json = stringify(value);
    } catch (error) {
      throw new TypeError(`${what} must be JSON-serialisable: ${messageOf(error)}`);
    }
    if (json === undefined) json = 'null';
    if (json.length > maxChars) {
      throw new RangeError(
        `${what} is ${megabytes(json.length)} as JSON; the limit is ${megabytes(maxChars)}: pass less data ` +
          '(for example file paths instead of file contents)',
      );
    }
    return json;
  }

  // A label and a phase are shown and kept by the host for the whole run, like phase() titles.
  // A copy, so that a getter on opts is read once, here.
  function withBoundedTitles(payload) {
    const opts = payload.opts;
    if (opts === null || typeof opts !== 'object') return payload;
    const copy = { ...opts };
    if (typeof copy.label === 'string') copy.label = bounded(copy.label, maxTitleChars);
    if (typeof copy.phase === 'string') copy.phase = bounded(copy.phase, maxTitleChars);
    // The host needs a change's id only: its diff (up to 100 KB) stays in the isolate.
    const inside = copy.cwd;
    const insideId = inside !== null && typeof inside === 'object' ? inside.id : undefined;
    if (typeof insideId === 'string') copy.cwd = { id: insideId };
    return { ...payload, opts: copy };
  }

  // Errors of calls the host refused (and already reported); private to this closure, its methods
  // bound now so that a script that patches WeakSet changes nothing here.
  const refusals = new WeakSet();
  const isRefusal = WeakSetHas.bind(refusals);
  const markRefusal = WeakSetAdd.bind(refusals);

  // The host answers every call with {"ok":true,"value":…} or {"ok":false,"message":…}; it never
  // rejects, so that a failure arrives here as a plain Error with the host's message.
  /**
   * @template {HostCallKind} Kind
   * @param {Kind} kind
   * @returns {Promise<HostCallReplies[Kind]>}
   */
  async function callHost(kind, payload) {
    const request = toJson(withBoundedTitles(payload), `${kind}() arguments`);
    const reply = await host.call.apply(undefined, [kind, request], {
      arguments: { copy: true },
      result: { promise: true, copy: true },
    });
    const answer = parseJson(reply);
    if (!answer.ok) {
      const error = answer.typeError === true ? new TypeError(answer.message) : new Error(answer.message);
      if (answer.refused === true) markRefusal(error);
      throw error;
    }
    return answer.value;
  }

  // The host answers whether the run still shows messages. Once it does not, a log or warning
  // crosses as its length only, to be counted; a phase title still crosses (it may switch the phase).
  let messagesShown = true;
  function notify(channel, message) {
    const sent = channel === 'phase' ? bounded(message, maxTitleChars) : messagesShown ? bounded(message, maxMessageChars) : message.length;
    messagesShown = host[channel].applySync(undefined, [sent], { arguments: { copy: true }, result: { copy: true } }) === true;
  }

  // parallel() and pipeline() turn a throw into null with a warning, but not for a refusal: the host
  // has printed that once already.
  const warnUnlessRefused = (error, message) => {
    if (!isRefusal(error)) notify('warn', message);
  };

  return { callHost, notify, toJson, isRefusal, warnUnlessRefused };
}

// ---- values as text ------------------------------------------------------------------------------

function toLogText(value) {
  if (typeof value === 'string') return value;
  try {
    return stringify(value) ?? String(value);
  } catch {
    return safeString(value);
  }
}

// String() itself throws for some values (objects without a prototype, hostile toString).
function safeString(value) {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function messageOf(error) {
  try {
    return error instanceof Error ? String(error.message) : toLogText(error);
  } catch {
    return 'unprintable error';
  }
}

function describeType(value) {
  if (value === null || value === undefined) return String(value);
  if (isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  const shown = typeof value === 'string' ? stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value) : safeString(value);
  return `${typeof value} ${shown}`;
}

function deepFreeze(value) {
  if (value !== null && typeof value === 'object' && !isFrozen(value)) {
    freeze(value);
    for (const key of getOwnPropertyNames(value)) deepFreeze(value[key]);
  }
  return value;
}

const copyFrozen = (json) => (json === null ? undefined : deepFreeze(parseJson(json)));

function checkOptions(callee, opts) {
  if (opts !== undefined && (opts === null || typeof opts !== 'object' || isArray(opts))) {
    throw new TypeError(`${callee}: opts must be an object, got ${describeType(opts)}`);
  }
  return opts ?? {};
}

// ---- agent, parallel, pipeline -----------------------------------------------------------------

function createAgentCalls({ callHost, notify, warnUnlessRefused }, maxItems) {
  function agent(prompt, opts) {
    if (typeof prompt !== 'string') {
      throw new TypeError(`agent(prompt, opts?): prompt must be a string, got ${describeType(prompt)}`);
    }
    if (opts !== undefined && (opts === null || typeof opts !== 'object' || isArray(opts))) {
      throw new TypeError(`agent(prompt, opts?): opts must be an object, got ${describeType(opts)}`);
    }
    return callHost('agent', { prompt, opts: opts ?? {} });
  }

  function checkItems(callee, items, itemsName) {
    if (!isArray(items)) {
      throw new TypeError(`${callee}() expects an array of ${itemsName}, got ${describeType(items)}`);
    }
    if (items.length > maxItems) {
      throw new RangeError(
        `${callee}() got ${items.length} items; the limit is ${maxItems} per call: split the work into batches ` +
          `of at most ${maxItems} (for example await ${callee}() on consecutive slices)`,
      );
    }
  }

  // Argument errors throw at the call; once started, the returned promise never rejects.
  function parallel(thunks) {
    checkItems('parallel', thunks, 'functions');
    return PromiseAll(
      thunks.map(async (thunk, index) => {
        if (typeof thunk !== 'function') {
          notify('warn', `parallel(): item ${index} is ${describeType(thunk)}, not a function; its result is null`);
          return null;
        }
        try {
          return await thunk();
        } catch (error) {
          warnUnlessRefused(error, `parallel(): item ${index} failed, its result is null: ${messageOf(error)}`);
          return null;
        }
      }),
    );
  }

  // Each item runs through all stages on its own: no barrier between stages.
  function pipeline(items, ...stages) {
    checkItems('pipeline', items, 'items');
    stages.forEach((stage, position) => {
      if (typeof stage !== 'function') {
        throw new TypeError(`pipeline(): stage ${position + 1} is ${describeType(stage)}, not a function`);
      }
    });
    return PromiseAll(
      items.map(async (item, index) => {
        let result = item;
        for (const [position, stage] of stages.entries()) {
          try {
            result = await stage(result, item, index);
          } catch (error) {
            warnUnlessRefused(error, `pipeline(): item ${index} failed in stage ${position + 1}, its result is null: ${messageOf(error)}`);
            return null;
          }
        }
        return result;
      }),
    );
  }

  return { agent, parallel, pipeline };
}

// ---- Foreman extensions: change, gate, propose, discard ------------------------------------------

// A change crosses back to the host as its id only; the host knows the rest.
function changeId(value, callee) {
  if (value === null || typeof value !== 'object' || typeof value.id !== 'string') {
    throw new TypeError(`${callee}: expects a change returned by change(), got ${describeType(value)}`);
  }
  return value.id;
}

// The reviewers' verdicts, shown as a table in the pull request. A reviewer that gave no
// verdict (null) is shown as not accepting.
function reviewVotes(votes) {
  const usage = 'propose(change, { votes }): votes must be an array of at most 9 { verdict: "accept" | "refute", reason } or null';
  if (!isArray(votes) || votes.length > 9) throw new TypeError(`${usage}, got ${describeType(votes)}`);
  return votes.map((vote) => {
    if (vote === null) return { accepted: false, reason: 'no verdict' };
    if (typeof vote !== 'object' || (vote.verdict !== 'accept' && vote.verdict !== 'refute') || typeof vote.reason !== 'string') {
      throw new TypeError(`${usage}, got ${describeType(vote)} in it`);
    }
    return { accepted: vote.verdict === 'accept', reason: vote.reason };
  });
}

function createChangeCalls({ callHost }) {
  function change(prompt, opts) {
    if (typeof prompt !== 'string') {
      throw new TypeError(`change(prompt, opts?): prompt must be a string, got ${describeType(prompt)}`);
    }
    return callHost('change', { prompt, opts: checkOptions('change(prompt, opts?)', opts) });
  }

  // change() for fix(): a write agent that fails throws (fix() reports 'failed') instead of
  // resolving to null, which for fix() means it changed nothing ('unchanged').
  const changeOrThrow = (prompt, opts) => callHost('change', { prompt, opts, failure: 'throw' });

  // opts is reserved (docs/script-api.md): checked, and kept here, since the steps come from config.
  function gate(target, opts) {
    const id = changeId(target, 'gate(change, opts?)');
    checkOptions('gate(change, opts?)', opts);
    return callHost('gate', { change: id });
  }

  function propose(target, opts) {
    const id = changeId(target, 'propose(change, { title, body })');
    const options = checkOptions('propose(change, { title, body })', opts);
    if (typeof options.title !== 'string' || options.title.trim() === '') {
      throw new TypeError('propose(change, { title, body }): title must be a non-empty string');
    }
    const request = { change: id, title: options.title, body: typeof options.body === 'string' ? options.body : '', draft: options.draft === true };
    if (options.votes !== undefined) request.votes = reviewVotes(options.votes);
    return callHost('propose', request);
  }

  const discard = (target) => callHost('discard', { change: changeId(target, 'discard(change)') });

  return { change, changeOrThrow, gate, propose, discard };
}

// ---- fix: change → adversarial reviewers → majority → gate → propose -----------------------------

const VERDICT = freeze({
  type: 'object',
  required: ['verdict', 'reason'],
  properties: {
    verdict: { type: 'string', enum: ['accept', 'refute'] },
    reason: { type: 'string' },
  },
});

const reviewPrompt = (request, candidate, index) =>
  [
    `You are reviewer ${index + 1} of a proposed code change. Your job is to refute it.`,
    'The change was made by another agent for this request:',
    '',
    request,
    '',
    `Files changed: ${candidate.files.map((f) => `${f.path} (+${f.additions} -${f.deletions})`).join(', ')}`,
    '',
    'The diff against the base commit:',
    '```diff',
    candidate.diff,
    '```',
    '',
    'Your working directory is the repository with the change applied: read the changed files and the code around them.',
    'Answer "refute" if the change is wrong, incomplete, does not do what was asked, breaks other code, or adds',
    'anything that was not asked for. Answer "accept" only if you tried to find such a flaw and could not.',
    'Give the concrete reason either way.',
  ].join('\n');

// fix() is written with the same globals a script has, so its journal entries are the primitives'
// own and a resume replays it.
function createFix(calls, isRefusal) {
  const { changeOrThrow, gate, propose, discard } = calls;
  const outcome = (status, fields) => ({ status, change: null, votes: [], gate: null, pr: null, ...fields });

  return async function fix(prompt, opts) {
    const { options, reviewers, label } = fixOptions(prompt, opts);
    let candidate;
    try {
      candidate = await changeOrThrow(prompt, { label, phase: options.phase, model: options.model, schema: options.schema });
    } catch (error) {
      return outcome('failed', { error: messageOf(error) });
    }
    if (candidate === null) return outcome('unchanged');

    const { votes, refused } = await review(calls, isRefusal, { prompt, candidate, reviewers, label, options });
    // A reviewer a cap refused gave no verdict: the change is kept (not discarded as refuted), so a
    // resume with a raised cap reviews it.
    if (refused !== null) return outcome('failed', { change: candidate, votes, error: messageOf(refused) });
    // A reviewer that gave no verdict does not count as accepting.
    const accepted = votes.filter((vote) => vote !== null && vote.verdict === 'accept').length;
    if (accepted * 2 <= reviewers) {
      await discard(candidate);
      return outcome('refuted', { change: candidate, votes });
    }

    let verdict;
    try {
      verdict = await gate(candidate);
    } catch (error) {
      await discard(candidate);
      return outcome('failed', { change: candidate, votes, error: messageOf(error) });
    }
    if (!verdict.passed) {
      await discard(candidate);
      return outcome('gate-failed', { change: candidate, votes, gate: verdict });
    }

    const title = typeof options.title === 'string' ? options.title : label;
    const body = typeof options.body === 'string' ? options.body : prompt;
    try {
      const pr = await propose(candidate, { title, body, draft: options.draft === true, votes });
      return outcome('proposed', { change: candidate, votes, gate: verdict, pr });
    } catch (error) {
      return outcome('failed', { change: candidate, votes, gate: verdict, error: messageOf(error) });
    }
  };
}

// fix() has no host call of its own: its options are checked here, before its first agent, so
// that a bad reviewPhase is not found only after the change agent was paid for.
function fixOptions(prompt, opts) {
  if (typeof prompt !== 'string') {
    throw new TypeError(`fix(prompt, opts?): prompt must be a string, got ${describeType(prompt)}`);
  }
  const options = checkOptions('fix(prompt, opts?)', opts);
  for (const key of ['label', 'phase', 'reviewPhase', 'model', 'reviewModel', 'title', 'body']) {
    const value = options[key];
    if (value !== undefined && value !== null && typeof value !== 'string') {
      throw new TypeError(`fix(prompt, opts?): opts.${key} must be a string, got ${describeType(value)}`);
    }
  }
  const reviewers = options.reviewers === undefined ? 2 : options.reviewers;
  if (!isInteger(reviewers) || reviewers < 1 || reviewers > 9) {
    throw new RangeError(`fix(prompt, opts?): reviewers must be an integer from 1 to 9, got ${describeType(reviewers)}`);
  }
  const label = typeof options.label === 'string' ? options.label : firstLine(prompt);
  return { options, reviewers, label };
}

// The reviewers, in parallel, each reading the change's worktree; `refused` is a refusal (a cap)
// that kept one of them from giving a verdict.
async function review({ agent, parallel }, isRefusal, { prompt, candidate, reviewers, label, options }) {
  let refused = null;
  const votes = await parallel(
    Array.from({ length: reviewers }, (_, index) => async () => {
      try {
        return await agent(reviewPrompt(prompt, candidate, index), {
          cwd: candidate,
          schema: VERDICT,
          label: `review ${index + 1}: ${label}`,
          phase: options.reviewPhase,
          model: options.reviewModel ?? options.model,
        });
      } catch (error) {
        if (isRefusal(error)) refused = error;
        throw error;
      }
    }),
  );
  return { votes, refused };
}

function firstLine(text) {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > 60 ? `${line.slice(0, 57)}...` : line;
}

// ---- phase, budget, workflow -----------------------------------------------------------------------

function createPhase({ notify }) {
  return function phase(title) {
    if (typeof title !== 'string') throw new TypeError(`phase(title): title must be a string, got ${describeType(title)}`);
    notify('phase', toLogText(title));
  };
}

// As Claude Code's: total is null without a budget (so `while (budget.total && …)` ends), and
// remaining() is then Infinity; spent() counts output tokens, the unit the budget is set in.
function createBudget(host, total) {
  const spent = () => Number(host.budgetSpent.applySync(undefined, [], { result: { copy: true } }));
  return freeze({
    total,
    spent,
    remaining: () => (total === null ? Infinity : Math.max(0, total - spent())),
  });
}

// The nested script runs inline, in this isolate, with its own deep-frozen copy of its args: only
// its name (or its scriptPath) crosses to the host, which answers with its checked source. Omitted
// args reach it as undefined, an explicit null as null.
function createWorkflow({ callHost, toJson }) {
  return async function workflow(nameOrRef, nestedArgs) {
    const ref = workflowRef(nameOrRef);
    const argsJson = nestedArgs === undefined ? null : toJson(nestedArgs, 'workflow() args');
    const script = await callHost('workflow', ref);
    const nestedMain = compileNested(script.body, script.file);
    const shown = ref.name ?? ref.scriptPath;
    const refuseNesting = () => {
      throw new Error(`workflow() nests one level: ${shown} cannot call workflow()`);
    };
    return nestedMain(copyFrozen(argsJson), refuseNesting);
  };
}

function workflowRef(nameOrRef) {
  const usage = 'workflow(nameOrRef, args?): nameOrRef must be a workflow name or { scriptPath }';
  if (typeof nameOrRef === 'string') return { name: nameOrRef };
  if (nameOrRef !== null && typeof nameOrRef === 'object' && !isArray(nameOrRef)) {
    const scriptPath = nameOrRef.scriptPath;
    if (typeof scriptPath === 'string' && scriptPath !== '') return { scriptPath };
    throw new TypeError(`${usage}: scriptPath must be a non-empty string, got ${describeType(scriptPath)}`);
  }
  throw new TypeError(`${usage}, got ${describeType(nameOrRef)}`);
}

// Same wrapper shape as the main script (prefix on the body's first line keeps line numbers);
// its own args and workflow parameters shadow the globals.
function compileNested(body, file) {
  const sourceUrl = String(file).replace(/[\s]/g, '_');
  try {
    return indirectEval(`(async function (args, workflow) {${body}\n})\n//# sourceURL=${sourceUrl}`);
  } catch (error) {
    throw new SyntaxError(`${file}: ${messageOf(error)}`);
  }
}

// ---- determinism guards ------------------------------------------------------------------------

// A resumed run replays journaled agent results; a script that reads the clock or randomness
// would decide differently the second time and no longer match its journal.
const nondeterministic = (call, instead) =>
  new Error(
    `${call} is not available in workflow scripts: a resumed run replays journaled results, so ` +
      `time and randomness would send the script down a different path. ${instead}`,
  );
const TIME_INSTEAD = 'Pass the time in through args instead; new Date(x) with an argument works.';

function guardClock() {
  const GuardedDate = function Date(...parts) {
    if (new.target === undefined) throw nondeterministic('Date() called as a function', TIME_INSTEAD);
    if (parts.length === 0) throw nondeterministic('new Date() without an argument', TIME_INSTEAD);
    return construct(NativeDate, parts, new.target);
  };
  defineProperty(GuardedDate, 'length', { value: 7 });
  defineProperty(GuardedDate, 'prototype', { value: NativeDate.prototype, writable: false });
  defineProperty(NativeDate.prototype, 'constructor', { value: GuardedDate });
  for (const name of ['parse', 'UTC']) {
    defineProperty(GuardedDate, name, { value: NativeDate[name], writable: true, configurable: true });
  }
  defineProperty(GuardedDate, 'now', {
    value: function now() {
      throw nondeterministic('Date.now()', TIME_INSTEAD);
    },
    writable: true,
    configurable: true,
  });
  defineProperty(globalThis, 'Date', { value: GuardedDate, writable: true, configurable: true });
  defineProperty(Math, 'random', {
    value: function random() {
      throw nondeterministic(
        'Math.random()',
        'Pass a seed or the values in through args instead, or derive them from the data (an item index, a hash).',
      );
    },
    writable: true,
    configurable: true,
  });
  guardDateTimeFormatClock();
}

// Intl.DateTimeFormat formats the current time when given no date: format() and formatToParts()
// read the clock as Date.now() does. formatRange() and formatRangeToParts() need both dates.
function guardDateTimeFormatClock() {
  const proto = Intl.DateTimeFormat.prototype;
  // Bound now: the natives never pass through anything the script can replace (Reflect.apply, call).
  const nativeFormatOf = Function.prototype.call.bind(Object.getOwnPropertyDescriptor(proto, 'format').get);
  const nativeFormatToParts = Function.prototype.call.bind(proto.formatToParts);
  const DATE_INSTEAD = 'Pass the date to format, e.g. format(new Date(args.now)), with the time in args.';
  defineProperty(proto, 'format', {
    get: function format() {
      const formatNative = nativeFormatOf(this);
      return function format(date) {
        if (date === undefined) throw nondeterministic('Intl.DateTimeFormat#format() without a date', DATE_INSTEAD);
        return formatNative(date);
      };
    },
    enumerable: false,
    configurable: true,
  });
  defineProperty(proto, 'formatToParts', {
    value: function formatToParts(date) {
      if (date === undefined) throw nondeterministic('Intl.DateTimeFormat#formatToParts() without a date', DATE_INSTEAD);
      return nativeFormatToParts(this, date);
    },
    writable: true,
    enumerable: false,
    configurable: true,
  });
}

// ---- memory outside the limit ------------------------------------------------------------------

// isolated-vm counts the isolate's heap and its fixed-size ArrayBuffers against the memory limit,
// but not WebAssembly memories or resizable buffers: V8 reserves those itself, so a script could
// grow them to gigabytes of the host's memory. Scripts orchestrate agents and need neither.
const outsideTheLimit = (what) =>
  new TypeError(
    `${what} is not available in workflow scripts: its memory is outside the script's memory limit. ` +
      'Workflow scripts orchestrate agents; do heavy computation in an agent or a gate command instead.',
  );

function guardMemory() {
  const NativeWebAssembly = globalThis.WebAssembly;
  if (NativeWebAssembly !== undefined) {
    const refused = {};
    for (const name of getOwnPropertyNames(NativeWebAssembly)) {
      refused[name] = function () {
        throw outsideTheLimit(`WebAssembly.${name}`);
      };
    }
    defineProperty(globalThis, 'WebAssembly', { value: freeze(refused), writable: true, configurable: true });
  }
  guardBuffer(NativeArrayBuffer, 'ArrayBuffer', 'resize()');
  guardBuffer(NativeSharedArrayBuffer, 'SharedArrayBuffer', 'grow()');
}

// Fixed-size buffers stay; only the maxByteLength option (a resizable buffer) is refused. The
// guarded constructor is the prototype's constructor too, so no path leads back to the native one.
function guardBuffer(Native, name, resize) {
  const Guarded = function (...parts) {
    if (new.target === undefined) throw new TypeError(`Constructor ${name} requires 'new'`);
    const options = parts[1];
    if (options !== null && typeof options === 'object' && options.maxByteLength !== undefined) {
      throw outsideTheLimit(`A resizable ${name} (maxByteLength, ${resize})`);
    }
    return construct(Native, [parts[0]], new.target);
  };
  defineProperty(Guarded, 'name', { value: name });
  defineProperty(Guarded, 'length', { value: 1 });
  defineProperty(Guarded, 'prototype', { value: Native.prototype, writable: false });
  defineProperty(Native.prototype, 'constructor', { value: Guarded, writable: true, configurable: true });
  for (const key of ownKeys(Native)) {
    if (key === 'prototype' || key === 'name' || key === 'length') continue;
    defineProperty(Guarded, key, getOwnPropertyDescriptor(Native, key));
  }
  defineProperty(globalThis, name, { value: Guarded, writable: true, configurable: true });
}

// V8's built-in console prints nowhere in an isolate; route it to the run's log so that a
// script's console.log is not silently lost.
function installConsole(log, warn) {
  const consoleTargets = { log, info: log, debug: log, warn, error: warn };
  const consoleShim = {};
  for (const [method, target] of Object.entries(consoleTargets)) {
    consoleShim[method] = (...parts) => target(parts.map(toLogText).join(' '));
  }
  defineProperty(globalThis, 'console', { value: freeze(consoleShim), writable: true, configurable: true });
}

// ---- how the script ended ------------------------------------------------------------------------

// How the script ended, as plain strings the host copies out. The result is serialised here,
// inside the isolate, so that its size and CPU cost count against the script's own limits.
function createRunMain({ maxChars, maxMessageChars, maxTitleChars }) {
  return async function runMain(main) {
    let value;
    try {
      value = await main();
    } catch (error) {
      return describeThrown(error, maxMessageChars, maxTitleChars);
    }
    let json;
    try {
      json = stringify(value === undefined ? null : value);
    } catch (error) {
      return { outcome: 'result', message: bounded(`the script's return value is not JSON-serialisable: ${messageOf(error)}`, maxMessageChars) };
    }
    if (json === undefined) {
      return { outcome: 'result', message: `the script returned ${typeof value}, which JSON cannot represent` };
    }
    if (json.length > maxChars) {
      return {
        outcome: 'result',
        message: `the script's return value is ${megabytes(json.length)} as JSON; the limit is ${megabytes(maxChars)}: return a summary`,
      };
    }
    return { outcome: 'ok', json };
  };
}

// The stack repeats the message in its first line: cut line by line, so that a long message
// does not push out the frames that say where the script threw.
function boundedStack(stack, maxMessageChars) {
  const STACK_LINE_CHARS = 1024;
  const lines = splitText(stack, '\n');
  let text = '';
  for (let i = 0; i < lines.length && text.length <= maxMessageChars; i++) {
    text += `${i === 0 ? '' : '\n'}${bounded(lines[i], STACK_LINE_CHARS)}`;
  }
  return bounded(text, maxMessageChars);
}

function describeThrown(error, maxMessageChars, maxTitleChars) {
  try {
    if (error instanceof Error) {
      const message = bounded(String(error.message), maxMessageChars);
      // V8 writes the stack text when it is first read, message included: with the cut message
      // in place, a huge message is not copied a second time into it.
      if (message.length < error.message.length) {
        try {
          error.message = message;
        } catch {
          // A frozen error: its stack costs what it costs, inside the isolate's own limit.
        }
      }
      return { outcome: 'error', name: bounded(String(error.name), maxTitleChars), message, stack: boundedStack(String(error.stack), maxMessageChars) };
    }
  } catch {
    // A hostile getter on the error: fall through to the plain description.
  }
  return { outcome: 'error', name: 'Error', message: bounded(`the script threw a non-Error value: ${toLogText(error)}`, maxMessageChars), stack: '' };
}
