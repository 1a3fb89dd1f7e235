// Processes that hold secrets (`foreman app` with the private key and webhook secret, the worker
// and `foreman run` with the Anthropic key and GitHub tokens) mark themselves non-dumpable. Linux
// then closes /proc/<pid>/environ, /proc/<pid>/mem and ptrace to every process without
// CAP_SYS_PTRACE, including other processes of the same user: a command run outside the sandbox
// (`--no-sandbox`), or anything else the user runs, can no longer read the secrets from its parent.
// The sandbox is the boundary; this is the second wall behind it.
//
// Node has no binding for prctl(2), so it is called through koffi, an FFI library that ships
// prebuilt binaries (nothing compiles at install). It is loaded only here, on first use.
import { createRequire } from 'node:module';

const PR_GET_DUMPABLE = 3;
const PR_SET_DUMPABLE = 4;

export type Hardening = { readonly nonDumpable: true } | { readonly nonDumpable: false; readonly reason: string };

let done: Hardening | undefined;

/**
 * Marks this process non-dumpable (once; later calls return the first answer). Never throws:
 * where the platform has no prctl, or the FFI library cannot load, it says why, for a warning.
 */
export function markNonDumpable(): Hardening {
  done ??= attempt();
  return done;
}

function attempt(): Hardening {
  if (process.platform !== 'linux') return { nonDumpable: false, reason: `${process.platform} has no prctl(PR_SET_DUMPABLE); run Foreman as its own user there` };
  let prctl: (option: number, a2: number, a3: number, a4: number, a5: number) => number;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    prctl = koffi.load('libc.so.6').func('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)') as typeof prctl;
  } catch (error) {
    return { nonDumpable: false, reason: `prctl could not be reached (${(error as Error).message.split('\n')[0]})` };
  }
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) !== 0 || prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) !== 0) {
    return { nonDumpable: false, reason: 'prctl(PR_SET_DUMPABLE, 0) did not take effect' };
  }
  return { nonDumpable: true };
}

/** For the App and the worker, which hold secrets as long as they run: a warning names what is open. */
export function markNonDumpableOrWarn(log: { warn(message: string): void }): void {
  const hardening = markNonDumpable();
  if (!hardening.nonDumpable) {
    log.warn(`this process stays dumpable: ${hardening.reason}. Other processes of its user can read its secrets from /proc; run it as a user of its own (docs/security.md)`);
  }
}
