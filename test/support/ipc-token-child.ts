// A forked child asking its parent for installation tokens, as `foreman worker` does.
import { IpcTokenSource } from '../../src/app/token-broker.ts';

const tokens = new IpcTokenSource();
const results = [];
for (const repository of ['widgets', 'forbidden']) {
  results.push(await tokens.installationToken(7, repository).then((t) => ({ ok: t }), (e: Error) => ({ error: e.message })));
}
process.send!({ type: 'results', results, env: Object.keys(process.env).filter((k) => k.startsWith('PRIVATE')) });
process.disconnect();
