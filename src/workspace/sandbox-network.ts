// The setup step's only way out of the sandbox: a filtering HTTP proxy on Foreman's side,
// reached through a unix socket bound into the sandbox, which has no network of its own. Inside,
// a small forwarder (socat, or the Node Foreman runs on where socat is missing) listens on
// 127.0.0.1, and HTTP(S)_PROXY points there for the install, so that npm, pip, cargo and Node's fetch go through it. The proxy
// lets through CONNECT tunnels and plain HTTP requests to the hosts of `sandbox.network` only; any
// other host gets a 403 at once whose text names the setting.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { lookup } from 'node:dns/promises';
import { BlockList, connect, isIP, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SANDBOX_PROXY_DIR } from './sandbox.ts';

/** The package registries a dependency install may reach unless sandbox.network says otherwise. */
export const DEFAULT_ALLOWED_HOSTS: readonly string[] = [
  'registry.npmjs.org',
  'registry.yarnpkg.com',
  'pypi.org',
  'files.pythonhosted.org',
  'crates.io',
  'index.crates.io',
  'static.crates.io',
  'proxy.golang.org',
  'sum.golang.org',
  'rubygems.org',
  'repo.maven.apache.org',
];

const SOCKET_NAME = 'proxy.sock';

export interface EgressProxy {
  /** The directory holding the socket: bind it at SANDBOX_PROXY_DIR. */
  readonly dir: string;
  /** The host:port pairs refused so far, for the step's output. */
  readonly refused: readonly string[];
  close(): Promise<void>;
}

/**
 * Whether `host:port` is allowed by an entry: `host` (ports 80 and 443), `host:port`, or
 * `*.domain` (any subdomain, ports 80 and 443). Case-insensitive.
 */
export function isHostAllowed(host: string, port: number, allow: readonly string[]): boolean {
  const name = host.toLowerCase().replace(/^\[|\]$/g, '');
  return allow.some((entry) => {
    const rule = entry.toLowerCase();
    const colon = rule.lastIndexOf(':');
    const ruleHost = colon > 0 && /^\d+$/.test(rule.slice(colon + 1)) ? rule.slice(0, colon) : rule;
    const rulePort = ruleHost === rule ? null : Number(rule.slice(colon + 1));
    if (rulePort === null ? port !== 443 && port !== 80 : port !== rulePort) return false;
    return ruleHost.startsWith('*.') ? name.endsWith(ruleHost.slice(1)) : name === ruleHost;
  });
}

// Addresses a name must not lead to: this machine, the private networks behind it, and the
// link-local range where clouds serve their instance credentials (169.254.169.254).
const INTERNAL = new BlockList();
for (const [net, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16], ['224.0.0.0', 4], ['240.0.0.0', 4]] as const) INTERNAL.addSubnet(net, bits, 'ipv4');
// No rule for ::ffff:0:0/96: BlockList already checks an IPv4-mapped address against the IPv4
// rules, and such a rule would match every IPv4 address, the public registries' included.
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) INTERNAL.addSubnet(net, bits, 'ipv6');
const LINK_LOCAL = new BlockList();
LINK_LOCAL.addSubnet('169.254.0.0', 16, 'ipv4');
LINK_LOCAL.addSubnet('fe80::', 10, 'ipv6');

/** Whether an address is this machine, a private network behind it, link-local or multicast. */
export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  return family !== 0 && INTERNAL.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The address to connect to for an allowed `host`, or why not. A name is resolved here, once, and
 * the connection goes to the address checked, so a name (`*.example.com` is anyone's subdomain)
 * cannot lead into this machine or its network, nor change its answer between check and connect.
 * An address written literally in sandbox.network (a registry mirror on the LAN, a test stand-in
 * on loopback) is the maintainer's choice, except the link-local range: never the cloud's
 * instance credentials.
 */
export async function egressAddress(host: string): Promise<{ address: string } | { refused: string }> {
  const bare = host.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family !== 0) {
    return LINK_LOCAL.check(bare, family === 4 ? 'ipv4' : 'ipv6') ? { refused: `${bare} is a link-local address` } : { address: bare };
  }
  let found: Array<{ address: string; family: number }>;
  try {
    found = await lookup(bare, { all: true });
  } catch (error) {
    return { refused: `${bare} does not resolve (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  const internal = found.find((a) => isInternalAddress(a.address));
  if (internal || found.length === 0) return { refused: `${bare} resolves to ${internal?.address ?? 'nothing'}, inside this machine's network` };
  return { address: found[0]!.address };
}

/** Headers that belong to one hop or to the proxy, never passed on. */
const HOP_HEADERS = ['connection', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

/** Connections one setup step may hold through the proxy at once. */
const MAX_PROXY_CONNECTIONS = 64;

export const refusalText = (target: string, allow: readonly string[]): string =>
  `Foreman's sandbox refused a connection to ${target}: the setup step may only reach the hosts in sandbox.network (${allow.join(', ') || 'none'}). ` +
  `If the install needs it, add it to sandbox.network in .github/foreman.yml.\n`;

/** Notes a refused target (the first 20, for the step's output) and words the refusal. */
type Refuse = (target: string) => string;

export async function startEgressProxy(allow: readonly string[]): Promise<EgressProxy> {
  const dir = await mkdtemp(join(tmpdir(), 'foreman-egress-'));
  const refused: string[] = [];
  const sockets = new Set<Socket>();
  const refuse: Refuse = (target) => {
    if (refused.length < 20 && !refused.includes(target)) refused.push(target);
    return refusalText(target, allow);
  };
  const server = createServer((req, res) => forwardRequest(req, res, allow, refuse));
  server.maxConnections = MAX_PROXY_CONNECTIONS;
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => openTunnel(req, client, head, { allow, refuse, sockets }));

  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(join(dir, SOCKET_NAME), () => done());
  });
  return {
    dir,
    refused,
    async close() {
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A plain http:// request through the proxy, to an allowed host's checked address. */
function forwardRequest(req: IncomingMessage, res: ServerResponse, allow: readonly string[], refuse: Refuse): void {
  let url: URL;
  try {
    url = new URL(req.url ?? '');
  } catch {
    res.writeHead(400, { 'content-type': 'text/plain' }).end('the sandbox proxy only forwards absolute http:// URLs\n');
    return;
  }
  const port = Number(url.port || 80);
  if (url.protocol !== 'http:' || !isHostAllowed(url.hostname, port, allow)) {
    res.writeHead(403, { 'content-type': 'text/plain' }).end(refuse(`${url.hostname}:${port}`));
    return;
  }
  void egressAddress(url.hostname).then((checked) => {
    if ('refused' in checked) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end(refuse(`${url.hostname}:${port} (${checked.refused})`));
      return;
    }
    // The Host header is the URL's: a client's own would reach another site behind the same address.
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !HOP_HEADERS.includes(name)));
    const upstream = httpRequest({ host: checked.address, port, method: req.method, path: url.pathname + url.search, headers: { ...headers, host: url.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`the sandbox proxy could not reach ${url.host}: ${error.message}\n`);
    });
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
}

interface TunnelContext {
  allow: readonly string[];
  refuse: Refuse;
  /** Every open socket, so that closing the proxy ends them all. */
  sockets: Set<Socket>;
}

/** A CONNECT tunnel (https) to an allowed host's checked address. */
function openTunnel(req: IncomingMessage, client: Socket, head: Buffer, { allow, refuse, sockets }: TunnelContext): void {
  sockets.add(client);
  client.on('close', () => sockets.delete(client));
  client.on('error', () => client.destroy());
  const target = req.url ?? '';
  const colon = target.lastIndexOf(':');
  const host = colon > 0 ? target.slice(0, colon) : target;
  const port = colon > 0 ? Number(target.slice(colon + 1)) : 443;
  if (!Number.isInteger(port) || !isHostAllowed(host, port, allow)) {
    forbidden(client, refuse(`${host}:${port}`));
    return;
  }
  void egressAddress(host).then((checked) => {
    if ('refused' in checked) {
      forbidden(client, refuse(`${host}:${port} (${checked.refused})`));
      return;
    }
    if (client.destroyed) return;
    const upstream = connect(port, checked.address, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    client.on('close', () => upstream.destroy());
    upstream.on('error', (error) => {
      if (!client.writableEnded) client.end(`HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\n\r\nthe sandbox proxy could not reach ${target}: ${error.message}\n`);
    });
  });
}

function forbidden(client: Socket, body: string): void {
  client.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

// Inside the sandbox's own network namespace, which nothing else shares, so one fixed port serves.
const FORWARD_PORT = 3128;
const INNER_SOCKET = `${SANDBOX_PROXY_DIR}/${SOCKET_NAME}`;

/** The setup step's environment: every client's proxy setting points at the forwarder. */
export function proxyEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const url = `http://127.0.0.1:${FORWARD_PORT}`;
  const inside: NodeJS.ProcessEnv = {
    ...env,
    HTTP_PROXY: url,
    HTTPS_PROXY: url,
    http_proxy: url,
    https_proxy: url,
    npm_config_proxy: url,
    npm_config_https_proxy: url,
    NODE_USE_ENV_PROXY: '1',
  };
  for (const name of ['NO_PROXY', 'no_proxy', 'npm_config_noproxy']) delete inside[name];
  return inside;
}

// The forwarder, with socat (about 2 ms to start): `sh -c SOCAT_FORWARDER sh <socat> program args…`.
// socat listens in the background; the shell waits, without forking, until /proc/net/tcp shows
// the port listening (127.0.0.1:3128 is 0100007F:0C38, state 0A), then becomes the program, so
// signals and the exit code are the program's own. socat dies with the sandbox's pid namespace.
const SOCAT_FORWARDER = `
socat=$1; shift
"$socat" TCP-LISTEN:${FORWARD_PORT},bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:${INNER_SOCKET} &
forwarder=$!
listening() {
  while read -r _ local _ state _; do
    [ "$local" = 0100007F:${FORWARD_PORT.toString(16).toUpperCase().padStart(4, '0')} ] && [ "$state" = 0A ] && return 0
  done < /proc/net/tcp
  return 1
}
tries=0
until listening; do
  tries=$((tries + 1))
  if ! kill -0 "$forwarder" 2>/dev/null || [ "$tries" -gt 200000 ]; then
    echo "Foreman's sandbox could not start its network forwarder ($socat); the setup step did not run" >&2
    exit 125
  fi
done
exec "$@"
`;

// The forwarder where socat is not installed: the Node Foreman runs on (about 25 ms to start).
// It listens first, then runs the program and exits as it does.
const NODE_FORWARDER = `
const net = require('node:net'), { spawn } = require('node:child_process'), os = require('node:os');
const server = net.createServer((inside) => {
  const outside = net.connect(${JSON.stringify(INNER_SOCKET)});
  inside.pipe(outside); outside.pipe(inside);
  inside.on('error', () => outside.destroy()); outside.on('error', () => inside.destroy());
});
server.listen(${FORWARD_PORT}, '127.0.0.1', () => {
  const [program, ...args] = process.argv.slice(1);
  const child = spawn(program, args, { stdio: 'inherit' });
  child.on('error', (e) => { console.error('exec: ' + program + ': ' + (e.code === 'EACCES' ? 'Permission denied' : 'not found')); process.exit(e.code === 'EACCES' ? 126 : 127); });
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (os.constants.signals[signal] ?? 0)));
  for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => child.kill(s));
});
`;

/**
 * argv that runs `argv` behind the forwarder: socat when the sandbox found it, else `node` (both
 * bound read-only inside). Run it with proxyEnvironment().
 */
export const behindProxy = (argv: readonly string[], socat: string | null): string[] =>
  socat ? ['/bin/sh', '-c', SOCAT_FORWARDER, 'sh', socat, ...argv] : [process.execPath, '-e', NODE_FORWARDER, '--', ...argv];

/** A forwarder's report that it could not start the program: `exec: <program>: not found`. */
export const FORWARDER_EXEC_FAILURE = /^(?:[^\n:]*: (?:line )?\d+: )?exec: [^\n]*: (not found|Permission denied)\n?$/;
