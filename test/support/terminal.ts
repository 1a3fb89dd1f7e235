// Runs the real `foreman` bin under a pseudo-terminal (util-linux `script`), and replays what it
// wrote the way a terminal would, so a test can read the screen a person is left with.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { BIN, cliEnv, type CliEnv } from './cli.ts';

export const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

export interface PtyRun {
  child: ChildProcess;
  /** Everything written to the terminal so far, escape sequences included. */
  output(): string;
  /** Types Ctrl-C: the terminal sends SIGINT to foreman, as it would for a person. */
  interrupt(): void;
  done: Promise<{ code: number | null; output: string }>;
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** `foreman args...` on a terminal of `columns` x `rows`; CI is unset so the live table is drawn. */
export function startOnTerminal(args: string[], env: CliEnv, options: { columns?: number; rows?: number } = {}): PtyRun {
  const { CI: _ci, ...childEnv } = cliEnv(env);
  const command = [process.execPath, '--no-node-snapshot', BIN, ...args].map(quote).join(' ');
  const child = spawn('script', ['-q', '-e', '-c', `stty cols ${options.columns ?? 120} rows ${options.rows ?? 40}; exec ${command}`, '/dev/null'], {
    env: { ...childEnv, SHELL: '/bin/sh' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d) => (output += d));
  const done = new Promise<{ code: number | null; output: string }>((resolve) => child.on('close', (code) => resolve({ code, output })));
  return { child, output: () => output, interrupt: () => child.stdin!.write('\x03'), done };
}

/**
 * The lines a terminal shows after `output`: text, CR/LF, and the cursor and erase sequences
 * log-update uses (CSI A B C D G K J; private modes such as cursor hiding are ignored). Nothing
 * scrolls off: the whole history is the screen.
 */
export function screenOf(output: string): string[] {
  const lines: string[] = [''];
  let row = 0;
  let col = 0;
  const put = (ch: string) => {
    const line = lines[row].padEnd(col, ' ');
    lines[row] = line.slice(0, col) + ch + line.slice(col + 1);
    col += 1;
  };
  for (let i = 0; i < output.length; i++) {
    const ch = output[i];
    if (ch === '\x1b' && output[i + 1] === '[') {
      const match = /^\x1b\[([?0-9;]*)([A-Za-z])/.exec(output.slice(i));
      if (!match) continue;
      i += match[0].length - 1;
      if (match[1].startsWith('?')) continue;
      const n = match[1] === '' ? 1 : Number(match[1].split(';')[0]);
      switch (match[2]) {
        case 'A':
          row = Math.max(0, row - n);
          break;
        case 'B':
          row += n;
          while (lines.length <= row) lines.push('');
          break;
        case 'C':
          col += n;
          break;
        case 'D':
          col = Math.max(0, col - n);
          break;
        case 'G':
          col = n - 1;
          break;
        case 'K':
          if (match[1] === '2') lines[row] = '';
          else if (match[1] === '' || match[1] === '0') lines[row] = lines[row].slice(0, col);
          else lines[row] = ' '.repeat(col) + lines[row].slice(col);
          break;
        default:
          break; // colours (m) and the rest do not move text
      }
    } else if (ch === '\r') {
      col = 0;
    } else if (ch === '\n') {
      row += 1;
      if (lines.length <= row) lines.push('');
    } else if (ch === '\b') {
      col = Math.max(0, col - 1);
    } else if (ch >= ' ') {
      put(ch);
    }
  }
  return lines.map((line) => line.trimEnd());
}
