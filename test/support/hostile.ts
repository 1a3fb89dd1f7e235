// What a hostile repository's test script (or an agent's command) tries once it runs: each
// attempt to reach past the sandbox, reported as JSON on one line so that a test can check every
// one failed inside while the script itself went on and exited 0.
import { createServer, type Server } from 'node:net';

/** Runs as `node probe.cjs <json of ProbeTargets>`; prints `PROBE <json of results>`. */
export const PROBE_SCRIPT = String.raw`
const fs = require('node:fs'), net = require('node:net'), path = require('node:path');
const t = JSON.parse(process.argv[2]);
const results = {};
const attempt = (name, fn) => {
  try { const got = fn(); results[name] = 'LEAKED: ' + String(got).slice(0, 200); }
  catch (e) { results[name] = 'blocked: ' + (e.code || e.message); }
};
// Every process it can see, and any environment holding the marker Foreman's own process carries.
const pids = fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n));
results.pids = pids;
results.ppid = process.ppid;
attempt('environ', () => {
  for (const pid of pids) {
    let text = '';
    try { text = fs.readFileSync('/proc/' + pid + '/environ', 'utf8'); } catch { continue; }
    if (text.includes(t.marker)) return 'found in /proc/' + pid + '/environ';
  }
  throw Object.assign(new Error('no environ holds the marker'), { code: 'NOT_FOUND' });
});
attempt('parentEnviron', () => fs.readFileSync('/proc/' + t.foremanPid + '/environ', 'utf8'));
attempt('foremanHome', () => fs.readFileSync(t.homeFile, 'utf8'));
attempt('otherClone', () => fs.readFileSync(t.otherCloneFile, 'utf8'));
attempt('ssh', () => fs.readdirSync(t.sshDir).join(','));
attempt('writeOutside', () => { fs.writeFileSync(t.outsideFile, 'planted'); return 'wrote ' + t.outsideFile; });
attempt('plantHook', () => { fs.writeFileSync(path.join(t.commonGitDir, 'hooks', 'post-checkout'), '#!/bin/sh\necho pwned\n', { mode: 0o755 }); return 'planted a hook'; });
attempt('gitConfig', () => { fs.appendFileSync(path.join(t.commonGitDir, 'config'), '[core]\n\thooksPath = /tmp\n'); return 'changed config'; });
attempt('dockerSocket', () => fs.statSync('/var/run/docker.sock').mode);
attempt('writeWorktree', () => { fs.writeFileSync('written-inside.txt', 'ok'); throw Object.assign(new Error('ok'), { code: 'WROTE_OK' }); });
const sock = net.connect(t.port, '127.0.0.1');
const timer = setTimeout(() => { results.tcp = 'blocked: timeout'; done(); }, 3000);
sock.on('connect', () => { clearTimeout(timer); results.tcp = 'LEAKED: connected'; sock.destroy(); done(); });
sock.on('error', (e) => { clearTimeout(timer); results.tcp = 'blocked: ' + e.code; done(); });
function done() { console.log('PROBE ' + JSON.stringify(results)); }
`;

export interface ProbeTargets {
  /** A value only Foreman's own environment holds. */
  marker: string;
  foremanPid: number;
  homeFile: string;
  otherCloneFile: string;
  sshDir: string;
  outsideFile: string;
  commonGitDir: string;
  port: number;
}

export type ProbeResults = Record<string, string> & { pids: string[]; ppid: number };

/** The results the probe printed in `output`. */
export function probeResults(output: string): ProbeResults {
  const line = output.split('\n').find((l) => l.startsWith('PROBE '));
  if (!line) throw new Error(`the probe printed no results:\n${output}`);
  return JSON.parse(line.slice('PROBE '.length)) as ProbeResults;
}

/** A TCP listener on 127.0.0.1 that counts the connections it gets. */
export async function countingListener(): Promise<{ server: Server; port: number; connections: () => number }> {
  let count = 0;
  const server = createServer((socket) => {
    count += 1;
    socket.destroy();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port, connections: () => count };
}

export const ATTEMPTS = ['environ', 'parentEnviron', 'foremanHome', 'otherClone', 'ssh', 'writeOutside', 'plantHook', 'gitConfig', 'dockerSocket', 'tcp'] as const;
