// The HTTP transport under the Anthropic SDK.
//
// - Node's built-in fetch pushes every response through WHATWG streams; undici's `request` is the
//   same client (connection pool, TLS, aborts) without that layer, and the SDK accepts any
//   fetch-shaped function, so `fetch` below adapts one to the other: JSON answers are read
//   whole, server-sent events stay a stream.
// - A fan-out sends its first wave of requests all at once, and each would otherwise pay a TCP
//   and TLS handshake, and wait for the sandbox's burst of agent() calls to be queued before the
//   handshakes could even finish. `preconnect` opens those connections while the run starts;
//   the pool takes them on its first requests. Figures in docs/benchmarks.md.
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { Agent, buildConnector, EnvHttpProxyAgent, request, type Dispatcher } from 'undici';

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);
/** A connection opened ahead and not taken by then is closed: servers drop idle ones anyway. */
const PRECONNECT_IDLE_MS = 10_000;
const MAX_PRECONNECT = 32;
const PROXY_VARIABLES = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'];

export interface Transport {
  /** For the SDK's `fetch` option. */
  fetch: typeof fetch;
  /** Opens up to `connections` connections to the origin of `url` for the requests to come. */
  preconnect(url: string, connections: number): void;
}

/**
 * The transport for one runner. Behind a proxy (HTTP_PROXY, HTTPS_PROXY, honouring NO_PROXY, as
 * `env` sets them: the door's environment) requests go through undici's EnvHttpProxyAgent and
 * nothing is opened ahead.
 */
export function createTransport(env: NodeJS.ProcessEnv): Transport {
  if (PROXY_VARIABLES.some((name) => env[name])) {
    // Every setting given, even empty: the agent would otherwise read the process's own.
    const dispatcher = new EnvHttpProxyAgent({
      keepAliveTimeout: 30_000,
      httpProxy: env.http_proxy ?? env.HTTP_PROXY ?? '',
      httpsProxy: env.https_proxy ?? env.HTTPS_PROXY ?? '',
      noProxy: env.no_proxy ?? env.NO_PROXY ?? '',
    });
    return { fetch: fetchThrough(dispatcher), preconnect: () => {} };
  }
  const ahead = new OpenedAhead();
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connect: ahead.connector });
  return { fetch: fetchThrough(dispatcher), preconnect: (url, connections) => ahead.open(url, connections) };
}

function fetchThrough(dispatcher: Dispatcher): typeof fetch {
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = (init?.method ?? 'GET').toUpperCase() as Dispatcher.HttpMethod;
    const response = await request(url, {
      method,
      headers: init?.headers ? requestHeaders(init.headers) : undefined,
      body: init?.body as Dispatcher.DispatchOptions['body'],
      signal: init?.signal ?? undefined,
      dispatcher,
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      if (Array.isArray(value)) for (const item of value) headers.append(name, item);
      else if (value !== undefined) headers.set(name, value);
    }
    const status = { status: response.statusCode, headers };
    if (NULL_BODY_STATUSES.has(response.statusCode) || method === 'HEAD') {
      response.body.resume();
      return new Response(null, status);
    }
    if (headers.get('content-type')?.startsWith('text/event-stream')) {
      return new Response(Readable.toWeb(response.body) as ReadableStream<Uint8Array>, status);
    }
    return new Response(await response.body.arrayBuffer(), status);
  };
}

/**
 * undici takes a Headers object (the SDK's kind) as it is, as an iterable of pairs; an array of
 * pairs would be read as a flat name, value list, so anything else goes through Headers first.
 */
function requestHeaders(headers: NonNullable<RequestInit['headers']>): Headers | Record<string, string> {
  if (headers instanceof Headers) return headers;
  return Object.fromEntries(new Headers(headers));
}

/** Connections opened before they are asked for, handed to the pool's connector first. */
class OpenedAhead {
  readonly #connect = buildConnector({});
  readonly #idle = new Map<string, Socket[]>();

  readonly connector: buildConnector.connector = (options, callback) => {
    const idle = this.#idle.get(originKey(options.protocol, options.hostname, options.port));
    while (idle && idle.length > 0) {
      const socket = idle.shift()!;
      if (socket.destroyed || socket.readyState !== 'open') continue;
      socket.setTimeout(0);
      socket.removeAllListeners('timeout');
      socket.ref();
      // Never synchronously: the pool is still inside its own connect() when it asks.
      queueMicrotask(() => callback(null, socket));
      return;
    }
    this.#connect(options, callback);
  };

  open(url: string, connections: number): void {
    const { protocol, hostname, port } = new URL(url);
    const key = originKey(protocol, hostname, port);
    const idle = this.#idle.get(key) ?? [];
    this.#idle.set(key, idle);
    const wanted = Math.min(connections, MAX_PRECONNECT) - idle.filter((s) => !s.destroyed).length;
    for (let i = 0; i < wanted; i++) {
      this.#connect({ protocol, hostname, host: hostname, port, servername: hostname }, (error, socket) => {
        // A connection that cannot be opened now is simply opened later, on demand.
        if (error || !socket) return;
        // Idle connections never keep the process alive, and are closed if nobody takes them.
        socket.unref();
        socket.setTimeout(PRECONNECT_IDLE_MS, () => socket.destroy());
        idle.push(socket);
      });
    }
  }
}

function originKey(protocol: string, hostname: string, port: string): string {
  return `${protocol}//${hostname}:${port || (protocol === 'https:' ? '443' : '80')}`;
}
