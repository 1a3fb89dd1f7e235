// The floors for the fan-out benchmark: the same 1,000 requests, 16 at once, with no Foreman
// around them.
// - `sdk`: the bare Anthropic SDK as it comes (Node's fetch, streamed).
// - `sdk-transport`: the bare SDK over Foreman's transport (src/agents/http.ts), plain
//   requests, as Foreman sends a fan-out's agents.
// - `http`: a plain node:http keep-alive client, the most the fake server and loopback allow.
import Anthropic from '@anthropic-ai/sdk';
import { Agent, request } from 'node:http';
import { createTransport } from '../src/agents/http.ts';
import { recordTimeline } from './timeline.ts';

const [mode, baseURL, agents, concurrency] = [process.argv[2], process.argv[3], Number(process.argv[4]), Number(process.argv[5])];
const params = { model: 'claude-sonnet-5-5', max_tokens: 1024, messages: [{ role: 'user' as const, content: 'reply ok' }] };

const client = new Anthropic({ apiKey: 'bench', baseURL, maxRetries: 0 });
const transport = createTransport(process.env);
const transportClient = new Anthropic({ apiKey: 'bench', baseURL, maxRetries: 0, fetch: transport.fetch });

const agent = new Agent({ keepAlive: true });
const body = JSON.stringify(params);
const viaHttp = () =>
  new Promise<void>((resolve, reject) => {
    const req = request(`${baseURL}/v1/messages`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      res.on('data', () => {}).on('end', resolve).on('error', reject);
    });
    req.on('error', reject).end(body);
  });

const modes: Record<string, () => Promise<unknown>> = {
  sdk: () => client.messages.stream(params).finalMessage(),
  'sdk-transport': () => transportClient.messages.create(params),
  http: viaHttp,
};
const one = modes[mode];
if (!one) throw new Error(`unknown mode ${mode}: use one of ${Object.keys(modes).join(', ')}`);
// Foreman opens its connections as a run starts; the transport floor does the same.
if (mode === 'sdk-transport') transport.preconnect(baseURL, concurrency);

// As the fan-out worker notes its agents, with FANOUT_TIMELINE=1: each request's start and finish.
const timeline = process.env.FANOUT_TIMELINE === '1' ? recordTimeline() : null;
let started = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (started < agents) {
      started += 1;
      timeline?.note('started');
      await one();
      timeline?.note('finished');
    }
  }),
);
process.stdout.write(JSON.stringify({ wallMs: performance.now() - t0, ...(timeline ? { timeline: timeline.result() } : {}) }) + '\n');
process.exit(0);
