// An allowed `git …` pattern such as 'git diff **' would otherwise admit options that read or
// write outside the agent's worktree (--no-index /dev/null /etc/passwd, --output=/tmp/x), point
// git at another repository (-C, --git-dir) or name a program for git to run (--ext-diff,
// --upload-pack, -O<pager>). run_command refuses them for git, whatever the patterns say; paths
// git itself keeps inside the repository ("outside repository" otherwise).

/**
 * Long options refused after the subcommand. git accepts any unambiguous abbreviation, so an
 * argument that is a prefix of one of these (`--no-ind`, `--outp=x`) is refused as well.
 */
const REFUSED_LONG = [
  '--no-index',
  '--output',
  '--output-directory',
  '--git-dir',
  '--work-tree',
  '--separate-git-dir',
  '--exec-path',
  '--exec',
  '--upload-pack',
  '--receive-pack',
  '--ext-diff',
  '--textconv',
  '--open-files-in-pager',
  '--file',
  '--global',
  '--system',
  '--template',
  '--reference',
  '--config-env',
];
/** Short options with the same reach, by subcommand (elsewhere the letters mean other things). */
const REFUSED_SHORT: Record<string, RegExp> = {
  'format-patch': /^-[a-zA-Z]*o/,
  archive: /^-[a-zA-Z]*o/,
  grep: /^-[a-zA-Z]*[Of]/,
};

const isGit = (program: string): boolean => program === 'git' || program.endsWith('/git');

/** Why `argv` may not run, or null when it is not git or only uses git inside the worktree. */
export function refusedGitArgument(argv: readonly string[]): string | null {
  if (!isGit(argv[0] ?? '')) return null;
  const subcommand = argv[1];
  if (subcommand === undefined) return null;
  if (subcommand.startsWith('-')) {
    return `git's own options (${subcommand}) could point it at another repository or set its config; give the subcommand first, e.g. "git diff …"`;
  }
  for (const arg of argv.slice(2)) {
    if (arg === '--') break;
    if (arg.startsWith('--')) {
      const name = arg.split('=')[0];
      const refused = REFUSED_LONG.find((option) => name.length > 2 && option.startsWith(name));
      if (refused) return `${arg} (${refused}) reads, writes or runs something outside the worktree`;
    } else if (Object.hasOwn(REFUSED_SHORT, subcommand) && REFUSED_SHORT[subcommand].test(arg)) {
      return `${arg} names an output file, a pager or a program outside the worktree`;
    }
  }
  return null;
}
