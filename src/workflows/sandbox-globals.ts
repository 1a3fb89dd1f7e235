// The names a workflow script can use without declaring them, and what to tell its author about
// a name it cannot. These must match what the isolate really has: test/validate.test.ts runs a
// script in the sandbox and compares its globalThis with these lists.

/** Installed by src/runtime/sandbox-prelude.js. */
const WORKFLOW_GLOBALS = ['agent', 'parallel', 'pipeline', 'phase', 'log', 'args', 'budget', 'workflow'] as const;
/** Also installed by the prelude; Claude Code does not have them. */
const FOREMAN_GLOBALS = ['change', 'gate', 'propose', 'discard', 'fix'] as const;

/** What a fresh V8 context of the isolate has (console is replaced by the prelude's). */
const JAVASCRIPT_GLOBALS = [
  'AggregateError', 'Array', 'ArrayBuffer', 'AsyncDisposableStack', 'Atomics', 'BigInt', 'BigInt64Array', 'BigUint64Array',
  'Boolean', 'DataView', 'Date', 'DisposableStack', 'Error', 'EvalError', 'FinalizationRegistry', 'Float16Array',
  'Float32Array', 'Float64Array', 'Function', 'Infinity', 'Int16Array', 'Int32Array', 'Int8Array', 'Intl', 'Iterator',
  'JSON', 'Map', 'Math', 'NaN', 'Number', 'Object', 'Promise', 'Proxy', 'RangeError', 'ReferenceError', 'Reflect',
  'RegExp', 'Set', 'SharedArrayBuffer', 'String', 'SuppressedError', 'Symbol', 'SyntaxError', 'TypeError', 'URIError',
  'Uint16Array', 'Uint32Array', 'Uint8Array', 'Uint8ClampedArray', 'WeakMap', 'WeakRef', 'WeakSet', 'WebAssembly',
  'console', 'decodeURI', 'decodeURIComponent', 'encodeURI', 'encodeURIComponent', 'escape', 'eval', 'globalThis',
  'isFinite', 'isNaN', 'parseFloat', 'parseInt', 'undefined', 'unescape',
] as const;

/** Every name that exists without a declaration; `arguments` because the script body is a function's. */
export const DEFINED_NAMES: ReadonlySet<string> = new Set([...WORKFLOW_GLOBALS, ...FOREMAN_GLOBALS, ...JAVASCRIPT_GLOBALS, 'arguments']);

const ALL_GLOBALS = [...WORKFLOW_GLOBALS, ...FOREMAN_GLOBALS].join(', ');

export const ONLY_GLOBALS = `workflow scripts run in a sandbox with only plain JavaScript and the workflow globals (${ALL_GLOBALS})`;

const TIMERS =
  'timers do not exist in the sandbox: a script waits only for its agents, so await the agent() calls themselves ' +
  '(parallel() or pipeline() run several at once) instead of waiting for time to pass';
const NODE_MODULE =
  'a workflow script is not a Node module and has no files of its own: agents read the repository (agent(), change()), and values come in through args';
const NO_NETWORK = 'the sandbox has no network: have an agent find the information, or pass it in through args';
const NO_HOST_API = 'the sandbox has only the JavaScript built-ins, no Node or browser APIs: have an agent do this, or pass the value in through args';
const GLOBAL_OBJECT = 'the global object is `globalThis`';

/** Names from Node and browsers that scripts reach for, with what to do instead. */
const MISSING_HOST_NAMES: Record<string, string> = {
  setTimeout: TIMERS,
  setInterval: TIMERS,
  setImmediate: TIMERS,
  clearTimeout: TIMERS,
  clearInterval: TIMERS,
  clearImmediate: TIMERS,
  queueMicrotask: 'use `await null` or Promise.resolve().then(...) to run code after the current step; there are no timers in the sandbox',
  process: 'the sandbox has no `process` (no environment, no exit): pass values in through args, and return the result',
  require: NODE_MODULE,
  module: NODE_MODULE,
  exports: NODE_MODULE,
  __dirname: NODE_MODULE,
  __filename: NODE_MODULE,
  fetch: NO_NETWORK,
  XMLHttpRequest: NO_NETWORK,
  WebSocket: NO_NETWORK,
  structuredClone: 'copy plain data with JSON.parse(JSON.stringify(value)); the sandbox has only the JavaScript built-ins',
  window: GLOBAL_OBJECT,
  self: GLOBAL_OBJECT,
  global: GLOBAL_OBJECT,
  ...Object.fromEntries(
    ['URL', 'URLSearchParams', 'TextEncoder', 'TextDecoder', 'Buffer', 'crypto', 'performance', 'AbortController', 'atob', 'btoa', 'navigator', 'document', 'localStorage'].map(
      (name) => [name, NO_HOST_API],
    ),
  ),
};

/** How to fix the use of a name that is not defined; `suggestion` is a near name that is. */
export function undefinedNameFix(name: string, assigned: boolean, suggestion: string | null): string {
  const known = Object.hasOwn(MISSING_HOST_NAMES, name) ? MISSING_HOST_NAMES[name] : null;
  if (known) return known;
  if (suggestion) return `did you mean \`${suggestion}\`? Otherwise declare it before this line`;
  if (assigned) return `declare it before assigning to it: \`let ${name} = ...\` (assigning to an undeclared name is an error in strict code)`;
  return `declare it before use (\`const ${name} = ...\`); besides its own declarations a script sees only the JavaScript built-ins and the workflow globals (${ALL_GLOBALS})`;
}
