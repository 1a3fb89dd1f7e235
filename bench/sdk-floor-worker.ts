// The floor for the fan-out benchmark: the same 1,000 requests through the bare Anthropic SDK,
// 16 at once, with no Foreman around them.
import Anthropic from '@anthropic-ai/sdk';

const [baseURL, agents, concurrency] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const client = new Anthropic({ apiKey: 'bench', baseURL, maxRetries: 0 });
let started = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (started < agents) {
      started += 1;
      await client.messages.stream({ model: 'claude-sonnet-5-5', max_tokens: 1024, messages: [{ role: 'user', content: 'reply ok' }] }).finalMessage();
    }
  }),
);
process.stdout.write(JSON.stringify({ wallMs: performance.now() - t0 }) + '\n');
