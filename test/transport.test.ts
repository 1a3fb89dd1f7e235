// The HTTP transport under the SDK: undici's request behind a fetch, and connections opened
// ahead of a run's first wave of agents.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import Anthropic from '@anthropic-ai/sdk';
import { createTransport } from '../src/agents/http.ts';
import { startFakeAnthropic, text, type FakeAnthropic } from './support/fake-anthropic.ts';
import { runScript, serviceEnv } from './support/service.ts';

const servers: FakeAnthropic[] = [];
after(() => Promise.all(servers.map((s) => s.close())));
async function fakeServer(latencyMs = 0): Promise<FakeAnthropic> {
  const fake = await startFakeAnthropic({ handler: (req) => [text(`echo ${req.prompt}`)], latencyMs });
  servers.push(fake);
  return fake;
}

const params = { model: 'claude-sonnet-5-5', max_tokens: 100, messages: [{ role: 'user' as const, content: 'hi' }] };

test('the SDK gets plain and streamed answers, errors and headers through the transport', async () => {
  const fake = await fakeServer();
  const client = new Anthropic({ apiKey: 'k', baseURL: fake.url, maxRetries: 0, fetch: createTransport({}).fetch });
  const plain = await client.messages.create(params);
  assert.deepEqual(plain.content, [{ type: 'text', text: 'echo hi' }]);
  const streamed = await client.messages.stream(params).finalMessage();
  assert.deepEqual(streamed.content, [{ type: 'text', text: 'echo hi' }]);
  assert.equal(fake.requests[1].body.stream, true);

  const failing = await startFakeAnthropic({ handler: () => ({ status: 429, headers: { 'retry-after': '7' } }) });
  servers.push(failing);
  const limited = new Anthropic({ apiKey: 'k', baseURL: failing.url, maxRetries: 0, fetch: createTransport({}).fetch });
  await assert.rejects(limited.messages.create(params), (error: unknown) => {
    assert.ok(error instanceof Anthropic.RateLimitError);
    assert.equal(error.headers?.get('retry-after'), '7');
    return true;
  });
});

test('an aborted request rejects as an abort', async () => {
  const fake = await fakeServer(5_000);
  const client = new Anthropic({ apiKey: 'k', baseURL: fake.url, maxRetries: 0, fetch: createTransport({}).fetch });
  const controller = new AbortController();
  const pending = client.messages.create(params, { signal: controller.signal });
  await sleep(50);
  controller.abort();
  await assert.rejects(pending, Anthropic.APIUserAbortError);
});

test('preconnect opens the connections ahead, and the first requests use them', async () => {
  const fake = await fakeServer(50);
  const transport = createTransport({});
  transport.preconnect(fake.url, 4);
  await sleep(100);
  assert.equal(fake.connections, 4, 'opened before any request');
  const client = new Anthropic({ apiKey: 'k', baseURL: fake.url, maxRetries: 0, fetch: transport.fetch });
  await Promise.all(Array.from({ length: 4 }, () => client.messages.create(params)));
  assert.equal(fake.connections, 4, `the first wave took the connections opened ahead (saw ${fake.connections})`);
  // undici reuses a connection one turn of the event loop after its response ended.
  await new Promise((resolve) => setImmediate(resolve));
  await Promise.all(Array.from({ length: 4 }, () => client.messages.create(params)));
  assert.equal(fake.calls, 8);
  assert.equal(fake.connections, 4, `then they are kept alive and reused (saw ${fake.connections})`);
});

test('behind a proxy nothing is opened ahead', async () => {
  const fake = await fakeServer();
  createTransport({ HTTPS_PROXY: 'http://127.0.0.1:9' }).preconnect(fake.url, 4);
  await sleep(100);
  assert.equal(fake.connections, 0);
});

test('a run opens its agents’ connections as it starts, even before the script asks for one', async () => {
  const fake = await fakeServer();
  const out = await runScript(`return 1`, serviceEnv(fake.url), { concurrency: 3 });
  assert.equal(out.status, 'completed', out.error ?? '');
  await sleep(100);
  assert.equal(fake.connections, 3);
  assert.equal(fake.calls, 0);
});

test('request headers arrive whichever form fetch was given them in', async () => {
  const seen: Array<string | undefined> = [];
  const fake = await startFakeAnthropic({ handler: () => [text('ok')] });
  servers.push(fake);
  const { fetch } = createTransport({});
  const body = JSON.stringify(params);
  for (const headers of [new Headers({ 'x-probe': 'a' }), { 'x-probe': 'b' }, [['x-probe', 'c']] as [string, string][]]) {
    const response = await fetch(`${fake.url}/v1/messages`, { method: 'POST', headers, body });
    assert.equal(response.status, 200);
    await response.text();
  }
  for (const request of fake.requests) seen.push(request.headers['x-probe'] as string | undefined);
  assert.deepEqual(seen, ['a', 'b', 'c']);
});

test('the proxy is the one in the environment the door gives, not the process’s own', async () => {
  const fake = await fakeServer();
  assert.equal(process.env.HTTP_PROXY ?? process.env.http_proxy, undefined, 'this test needs a process without a proxy');
  // Nothing listens on port 9: a request that honours the given proxy cannot get through.
  const proxied = new Anthropic({ apiKey: 'k', baseURL: fake.url, maxRetries: 0, fetch: createTransport({ HTTP_PROXY: 'http://127.0.0.1:9' }).fetch });
  await assert.rejects(proxied.messages.create(params), /Connection error/);
  assert.equal(fake.calls, 0);
  const exempt = new Anthropic({ apiKey: 'k', baseURL: fake.url, maxRetries: 0, fetch: createTransport({ HTTP_PROXY: 'http://127.0.0.1:9', NO_PROXY: '127.0.0.1' }).fetch });
  await exempt.messages.create(params);
  assert.equal(fake.calls, 1);
});
