// The OS sandbox every process that runs repository code goes through (gate steps, run_command).
// Removing secrets from a command's environment is no boundary: a test script can read its
// parent's /proc/<pid>/environ, the store in $FOREMAN_HOME, ~/.ssh, or plant hooks in the shared
// git directory. So each command runs under bubblewrap (bwrap): new user, pid, ipc, uts and net
// namespaces, a root built from read-only binds of the system directories, the worktree as the
// only writable place, a private /tmp and HOME, and no network unless the step is the setup step
// (then only the hosts of sandbox.network, through a filtering proxy: sandbox-network.ts).
//
// Only what is needed is bound, rather than `--ro-bind / /` with masks: anything not named here
// (the user's home, $FOREMAN_HOME, other clones, /run with the Docker socket) does not exist
// inside, including whatever a future layout adds.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';

/** The sandbox works here: commands are wrapped with this bwrap. */
export interface Sandbox {
  readonly kind: 'bwrap';
  readonly bwrap: string;
  /** socat in a system directory, for the setup step's forwarder; null: Node forwards instead. */
  readonly socat: string | null;
  readonly limits: SandboxLimits;
  /** Paths that must never be visible inside, even when a PATH entry lies above them. */
  readonly hidden: readonly string[];
}

/** The sandbox does not work here: why, and what makes it work. */
export interface SandboxUnavailable {
  readonly kind: 'unavailable';
  readonly reason: string;
  readonly fix: string;
}

/** The user turned the sandbox off (CLI `--no-sandbox` or user config): commands run bare. */
export interface NoSandbox {
  readonly kind: 'off';
}

export type SandboxChoice = Sandbox | SandboxUnavailable | NoSandbox;

export interface SandboxLimits {
  /** Resident memory of all the command's processes together, in MB. */
  memoryMb: number;
  /** Processes (not threads) the command may have at once. */
  processes: number;
}

export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = { memoryMb: 4096, processes: 512 };

/** What one command may reach. */
export interface SandboxRequest {
  /** The worktree: the only place the command may write (besides its private /tmp). */
  root: string;
  /** No network (build, test, agents), or only these hosts through the proxy (setup). */
  network: 'none' | { proxySocketDir: string };
  /** More paths that must not be visible inside (e.g. this Foreman's home). */
  hide?: readonly string[];
}

/** HOME inside the sandbox: in its private /tmp, so nothing written there outlives the command. */
export const SANDBOX_HOME = '/tmp/home';
/** Where the setup step's proxy socket appears inside the sandbox. */
export const SANDBOX_PROXY_DIR = '/run/foreman-proxy';

export const sandboxMessage = (u: SandboxUnavailable): string => `the sandbox is unavailable: ${u.reason}; ${u.fix}`;

const INSTALL_FIX = 'install bubblewrap (Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: sudo dnf install bubblewrap; Alpine: apk add bubblewrap)';

const probes = new Map<string, Sandbox | SandboxUnavailable>();

/**
 * Whether bwrap can build a sandbox on this machine: runs `true` inside one (about 5 ms, once
 * per bwrap path). `bwrap` is the program to use (default: bwrap on PATH).
 */
export function detectSandbox(options: { bwrap?: string; hide?: readonly string[]; limits?: Partial<SandboxLimits>; recheck?: boolean } = {}): Sandbox | SandboxUnavailable {
  const bwrap = options.bwrap ?? 'bwrap';
  let probe = probes.get(bwrap);
  if (!probe || options.recheck) {
    probe = probeBwrap(bwrap);
    probes.set(bwrap, probe);
  }
  if (probe.kind !== 'bwrap') return probe;
  return { ...probe, hidden: [...probe.hidden, ...(options.hide ?? []).map((p) => resolve(p))], limits: { ...DEFAULT_SANDBOX_LIMITS, ...options.limits } };
}

function probeBwrap(bwrap: string): Sandbox | SandboxUnavailable {
  const sandbox: Sandbox = { kind: 'bwrap', bwrap, socat: systemProgram('socat'), limits: DEFAULT_SANDBOX_LIMITS, hidden: [homedir()] };
  const result = spawnSync(bwrap, [...sandboxArgs(sandbox, { root: null, network: 'none' }, '/', undefined), '--', 'true'], { encoding: 'utf8', timeout: 10_000 });
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'unavailable', reason: `bubblewrap (${bwrap}) is not installed`, fix: INSTALL_FIX };
    return { kind: 'unavailable', reason: `${bwrap} could not start (${result.error.message})`, fix: INSTALL_FIX };
  }
  if (result.status === 0) return sandbox;
  const said = (result.stderr || result.stdout || `exit code ${result.status}`).trim().split('\n')[0];
  if (/namespace|uid map|Operation not permitted|Permission denied/i.test(said)) {
    return { kind: 'unavailable', reason: `${bwrap} cannot create user namespaces here (${said})`, fix: userNamespaceFix() };
  }
  return { kind: 'unavailable', reason: `${bwrap} failed (${said})`, fix: `check that ${bwrap} is bubblewrap 0.4 or later, or ${INSTALL_FIX}` };
}

/** A program in the read-only system directories, so the same file is there inside the sandbox. */
function systemProgram(name: string): string | null {
  for (const dir of ['/usr/bin', '/bin', '/usr/local/bin']) {
    const file = join(dir, name);
    if (statOrNull(file)?.isFile()) return file;
  }
  return null;
}

function userNamespaceFix(): string {
  const read = (path: string): string | null => {
    try {
      return readFileSync(path, 'utf8').trim();
    } catch {
      return null;
    }
  };
  if (read('/proc/sys/kernel/apparmor_restrict_unprivileged_userns') === '1') {
    return 'AppArmor restricts unprivileged user namespaces (Ubuntu 23.10+, GitHub-hosted runners): run `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`, or install an AppArmor profile that allows userns for /usr/bin/bwrap (see docs/security.md)';
  }
  if (read('/proc/sys/kernel/unprivileged_userns_clone') === '0') return 'enable unprivileged user namespaces: sudo sysctl -w kernel.unprivileged_userns_clone=1';
  if (read('/proc/sys/user/max_user_namespaces') === '0') return 'allow user namespaces: sudo sysctl -w user.max_user_namespaces=15000';
  if (existsSync('/.dockerenv')) {
    return 'inside Docker, start the container with --security-opt seccomp=unconfined --security-opt apparmor=unconfined (see docs/security.md), so it may create user namespaces';
  }
  return 'allow unprivileged user namespaces on this machine (see docs/security.md)';
}

/** argv that runs `argv` inside the sandbox, with `cwd` (inside request.root) as its directory. */
export function wrapArgv(sandbox: Sandbox, argv: readonly string[], request: SandboxRequest, cwd: string, path: string | undefined): string[] {
  return [sandbox.bwrap, ...sandboxArgs(sandbox, request, cwd, path), '--', ...argv];
}

// Read-only, when they exist. /opt holds GitHub runners' tool cache (setup-node's node).
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt', '/nix/store'];
// Readable by uid 0, which the sandbox is when Foreman runs as root.
const MASKED_FILES = ['/etc/shadow', '/etc/gshadow', '/etc/shadow-', '/etc/gshadow-', '/etc/sudoers'];

interface Mount {
  path: string;
  args: string[];
}

function sandboxArgs(sandbox: Sandbox, request: { root: string | null; network: SandboxRequest['network']; hide?: readonly string[] }, cwd: string, path: string | undefined): string[] {
  const args = [
    '--die-with-parent',
    '--unshare-user',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-net',
    '--unshare-cgroup-try',
    '--hostname', 'foreman-sandbox',
    // As root, bwrap would keep every capability inside the user namespace, enough to remount
    // the read-only binds writable.
    '--cap-drop', 'ALL',
  ];
  for (const dir of SYSTEM_DIRS) {
    const info = lstatOrNull(dir);
    if (info?.isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
    else if (info?.isDirectory()) args.push('--ro-bind', dir, dir);
  }
  for (const file of MASKED_FILES) if (existsSync(file)) args.push('--ro-bind', '/dev/null', file);
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--tmpfs', '/var/tmp', '--dir', SANDBOX_HOME);

  const hidden = [...sandbox.hidden, ...(request.hide ?? [])];
  const mounts: Mount[] = [];
  const seen = new Set<string>();
  const within = (inner: string, outer: string): boolean => inner === outer || inner.startsWith(outer.endsWith(sep) ? outer : outer + sep);
  const readOnly = (path: string): void => {
    if (seen.has(path) || SYSTEM_DIRS.some((dir) => within(path, dir))) return;
    if (hidden.some((h) => within(h, path))) return;
    seen.add(path);
    mounts.push({ path, args: ['--ro-bind', path, path] });
  };
  for (const dir of toolDirs(path ?? '')) readOnly(dir);
  if (request.root) {
    const root = request.root;
    mounts.push({ path: root, args: ['--bind', root, root] });
    seen.add(root);
    for (const dir of gitDirs(root)) {
      // Hooks and config planted here would run in Foreman's own git commands.
      seen.delete(dir);
      readOnly(dir);
    }
    // The worktree's `.git` file names its git dirs: read-only, or one command could point it at
    // any directory (`gitdir: /`) for the next command's sandbox to bind, and for Foreman's own git.
    const dotGit = join(root, '.git');
    if (lstatOrNull(dotGit)?.isFile()) mounts.push({ path: dotGit, args: ['--ro-bind', dotGit, dotGit] });
    // A gate's shared dependency install: node_modules links into <home>/deps/<key>/node_modules.
    // The link lies in the writable worktree, so its target is bound only when it is such an install.
    const modules = join(root, 'node_modules');
    if (lstatOrNull(modules)?.isSymbolicLink()) {
      const target = realpathOrNull(modules);
      if (target && (request.hide ?? []).some((home) => isSharedInstall(target, home))) mounts.push({ path: target, args: ['--ro-bind', target, target] });
    }
  }
  if (request.network !== 'none') mounts.push({ path: SANDBOX_PROXY_DIR, args: ['--ro-bind', request.network.proxySocketDir, SANDBOX_PROXY_DIR] });
  // Parents first, so that a read-only git dir inside the worktree lands on top of it.
  mounts.sort((a, b) => a.path.split(sep).length - b.path.split(sep).length);
  for (const mount of mounts) args.push(...mount.args);
  args.push('--remount-ro', '/', '--chdir', cwd);
  return args;
}

/**
 * Directories the commands' programs live in outside the system directories: the PATH entries
 * and this Node's install. A `<prefix>/bin` entry brings `<prefix>/lib` (npm, node_modules of
 * global tools) unless the prefix is a home directory or holds a hidden path.
 */
let toolDirsCache: { key: string; dirs: string[] } | undefined;

function toolDirs(path: string): string[] {
  const key = `${path}\0${process.execPath}`;
  if (toolDirsCache?.key === key) return toolDirsCache.dirs;
  const entries = [...path.split(':'), dirname(process.execPath)];
  const dirs: string[] = [];
  for (const entry of entries) {
    if (!entry || !isAbsolute(entry)) continue;
    const real = realpathOrNull(entry);
    if (!real || !statOrNull(real)?.isDirectory()) continue;
    dirs.push(real);
    if (basename(real) === 'bin') {
      const lib = join(dirname(real), 'lib');
      if (statOrNull(lib)?.isDirectory()) dirs.push(lib);
    }
  }
  toolDirsCache = { key, dirs };
  return dirs;
}

/** `<home>/deps/<key>/node_modules`, the one place a worktree's node_modules link may lead. */
function isSharedInstall(target: string, home: string): boolean {
  const deps = join(resolve(home), 'deps') + sep;
  if (!target.startsWith(deps)) return false;
  const [key, last, ...rest] = target.slice(deps.length).split(sep);
  return Boolean(key) && key !== '..' && last === 'node_modules' && rest.length === 0;
}

/** The worktree's git directory and the repository's shared one (read from .git, no git run). */
function gitDirs(root: string): string[] {
  const dotGit = join(root, '.git');
  const info = lstatOrNull(dotGit);
  if (info?.isDirectory()) return [dotGit];
  if (!info?.isFile()) return [];
  const line = /^gitdir: (.+)$/m.exec(readFileSync(dotGit, 'utf8'))?.[1]?.trim();
  if (!line) return [];
  const gitDir = resolve(root, line);
  let common = gitDir;
  try {
    common = resolve(gitDir, readFileSync(join(gitDir, 'commondir'), 'utf8').trim());
  } catch {
    // A separate git dir without a common one.
  }
  return [...new Set([realpathOrNull(common), realpathOrNull(gitDir)].filter((p): p is string => p !== null))];
}

// ---- resource limits -------------------------------------------------------------------------

/**
 * Counts the processes and resident memory under `pid` (the bwrap process) every `everyMs`, and
 * calls `onBreach` once when a limit is passed. RLIMIT_NPROC cannot do this: it counts per real
 * user and does not apply to root, which Foreman is in CI and containers; cgroups are not
 * available unprivileged everywhere. Killing bwrap ends the pid namespace, so every process in it
 * dies, also those that left the process group. One scan of /proc serves every watched command.
 */
export function watchLimits(pid: number, limits: SandboxLimits, onBreach: (why: string) => void, everyMs = 100): () => void {
  const watch: Watch = { limits, onBreach };
  watched.set(pid, watch);
  scanner ??= setInterval(scanAll, everyMs);
  scanner.unref();
  return () => {
    if (watched.get(pid) === watch) watched.delete(pid);
    if (watched.size === 0 && scanner) {
      clearInterval(scanner);
      scanner = undefined;
    }
  };
}

interface Watch {
  limits: SandboxLimits;
  onBreach: (why: string) => void;
}

const watched = new Map<number, Watch>();
let scanner: NodeJS.Timeout | undefined;
const PAGE_MB = 4096 / 1024 / 1024;

function scanAll(): void {
  const table = processTable();
  for (const [pid, watch] of watched) {
    const tree = subtree(table, pid);
    let why: string | null = null;
    if (tree.count > watch.limits.processes) why = `it started more than ${watch.limits.processes} processes (a fork bomb, or far more workers than the machine has cores)`;
    else if (tree.rssPages * PAGE_MB > watch.limits.memoryMb) why = `its processes used more than ${watch.limits.memoryMb} MB of memory`;
    if (why) {
      watched.delete(pid);
      watch.onBreach(why);
    }
  }
  if (watched.size === 0 && scanner) {
    clearInterval(scanner);
    scanner = undefined;
  }
}

interface ProcessTable {
  children: Map<number, number[]>;
  rss: Map<number, number>;
}

function processTable(): ProcessTable {
  const children = new Map<number, number[]>();
  const rss = new Map<number, number>();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return { children, rss };
  }
  for (const name of names) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'latin1');
    } catch {
      continue;
    }
    // Fields after the command name (which may hold spaces): state ppid … rss is field 24.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pid = Number(name);
    const ppid = Number(fields[1]);
    rss.set(pid, Number(fields[21]));
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  return { children, rss };
}

function subtree(table: ProcessTable, root: number): { count: number; rssPages: number } {
  let count = 0;
  let rssPages = 0;
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    count += 1;
    rssPages += table.rss.get(pid) ?? 0;
    for (const child of table.children.get(pid) ?? []) stack.push(child);
  }
  return { count, rssPages };
}

// ---- small helpers -----------------------------------------------------------------------------

function lstatOrNull(path: string): ReturnType<typeof lstatSync> | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

function statOrNull(path: string): ReturnType<typeof statSync> | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

function realpathOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}
