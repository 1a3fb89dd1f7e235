// The store's writer thread. A commit with synchronous=FULL waits for the disk (about 0.7 ms
// here); on the main thread that wait held up every agent whose response had just arrived, so
// agent records and journal entries are committed here instead. Ops that arrive in the same turn
// share one transaction (group commit); each is answered only after its commit.
import { parentPort, workerData } from 'node:worker_threads';
import { BatchCommitter, openDatabase, type WriteOp, type WriteOutcome } from './sqlite-writes.ts';

export type WriterRequest = { ops: Array<{ id: number; op: WriteOp }> } | { close: true };
export type WriterReply = { ids: number[]; numbers: WriteOutcome[] } | { ids: number[]; error: string };

const db = openDatabase((workerData as { file: string }).file);
const committer = new BatchCommitter(db);
let pending: Array<{ id: number; op: WriteOp }> = [];

const port = parentPort!;
port.on('message', (text: string) => {
  const message = JSON.parse(text) as WriterRequest;
  if ('close' in message) {
    flush();
    db.close();
    port.close();
    return;
  }
  if (pending.length === 0) setImmediate(flush);
  pending.push(...message.ops);
});

function flush(): void {
  if (pending.length === 0) return;
  const batch = pending;
  pending = [];
  const ids = batch.map((item) => item.id);
  let reply: WriterReply;
  try {
    reply = { ids, numbers: committer.commit(batch.map((item) => item.op)) };
  } catch (error) {
    reply = { ids, error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply);
}
