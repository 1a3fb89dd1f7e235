// Reaches into a process started with --inspect, through the inspector protocol: the one way to
// end a single worker thread of another process from outside, as a crash in it would.

/** The inspector's WebSocket address, from what `node --inspect=127.0.0.1:0` printed on stderr. */
export function inspectorUrl(stderr: string): string | undefined {
  return /Debugger listening on (ws:\/\/\S+)/.exec(stderr)?.[1];
}

/** Makes the worker thread whose entry file's URL ends with `entry` exit with `code`. */
export function exitThread(inspector: string, entry: string, code: number): Promise<void> {
  return evaluateInThread(inspector, entry, `process.exit(${code})`, true);
}

/** Sends the thread a loop that never returns, as a bug would: its event loop stops turning. */
export function stallThread(inspector: string, entry: string): Promise<void> {
  return evaluateInThread(inspector, entry, 'for (;;) {}', false);
}

/** Evaluates `expression` in that thread; waits for the thread to go away when `untilGone`. */
async function evaluateInThread(inspector: string, entry: string, expression: string, untilGone: boolean): Promise<void> {
  const socket = new WebSocket(inspector);
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve, { once: true });
    socket.addEventListener('error', () => reject(new Error(`could not connect to ${inspector}`)), { once: true });
  });
  try {
    const attached = new Promise<string>((resolve) =>
      socket.addEventListener('message', (event) => {
        const message = JSON.parse(String(event.data));
        if (message.method === 'NodeWorker.attachedToWorker' && String(message.params.workerInfo.url).endsWith(entry)) resolve(message.params.sessionId);
      }),
    );
    socket.send(JSON.stringify({ id: 1, method: 'NodeWorker.enable', params: { waitForDebuggerOnStart: false } }));
    const sessionId = await attached;
    const evaluate = { id: 1, method: 'Runtime.evaluate', params: { expression } };
    socket.send(JSON.stringify({ id: 2, method: 'NodeWorker.sendMessageToWorker', params: { sessionId, message: JSON.stringify(evaluate) } }));
    if (!untilGone) return;
    await new Promise<void>((resolve) =>
      socket.addEventListener('message', (event) => {
        const message = JSON.parse(String(event.data));
        if (message.method === 'NodeWorker.detachedFromWorker' && message.params.sessionId === sessionId) resolve();
      }),
    );
  } finally {
    socket.close();
  }
}
