// Registering Foreman as a GitHub App: `foreman app` started without credentials in a directory
// outside the project (as after `npm link`), a local GitHub for the manifest flow, and the
// restart that must serve with what the registration wrote.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { startFakeGitHubApps } from './support/fake-github-apps.ts';
import { startAppIn, startAppProcess } from './support/app-process.ts';
import { tempDir } from './support/repo.ts';
import { browserSkipReason, launchBrowser } from './support/browser.ts';

const APP_YML = parseYaml(readFileSync(new URL('../app.yml', import.meta.url), 'utf8'));
const SETUP_URL = /open (http:\/\/\S+?)\/ in a browser/;

const unescapeHtml = (text: string) => text.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** The register form of the setup page: where it posts and the manifest it sends. */
function registerForm(page: string): { action: string; manifest: any } {
  const form = /<form action="([^"]+)" method="post">\s*<input type="hidden" name="manifest" id="manifest" value="([^"]*)">/.exec(page);
  assert.ok(form, `the setup page has a form that posts the manifest:\n${page}`);
  return { action: unescapeHtml(form[1]), manifest: JSON.parse(unescapeHtml(form[2])) };
}

test('from a directory outside the project, foreman app registers Foreman\'s app.yml with the webhook path, writes .env 0600, and a restart serves with it', async () => {
  const github = await startFakeGitHubApps();
  const dir = tempDir('foreman-register-');
  // What the directory's .env held already stays, and the file ends up readable by its owner only.
  writeFileSync(join(dir, '.env'), 'FOREMAN_HOME=./data', { mode: 0o644 });
  const setup = startAppIn(dir, { GHE_HOST: github.host, GHE_PROTOCOL: 'http' });
  try {
    const origin = (await setup.waitFor(SETUP_URL))[1];
    const response = await fetch(`${origin}/`);
    assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
    assert.match(response.headers.get('content-security-policy')!, /frame-ancestors 'none'/);
    const form = registerForm(await response.text());
    assert.match(form.action, new RegExp(`^${github.url}/settings/apps/new\\?state=[0-9a-f]{32}$`));

    // The browser posts the form to GitHub, which sends it back here with a code.
    const atGitHub = await fetch(form.action, { method: 'POST', body: new URLSearchParams({ manifest: JSON.stringify(form.manifest) }), redirect: 'manual' });
    assert.equal(atGitHub.status, 302);
    const back = await fetch(atGitHub.headers.get('location')!);
    const done = await back.text();
    assert.equal(back.status, 200, done);
    assert.match(done, /Foreman is registered as Foreman/);
    // The page after registering: the next steps only; nothing asks for an address any more.
    assert.doesNotMatch(done, /Give the public address|public_url/);
    assert.match(done, /id="install"><a href="[^"]+\/apps\/foreman\/installations\/new">Install the App/);
    assert.match(done, new RegExp(`<li class="warning" id="local-address">GitHub sends webhooks to <strong id="webhook-url">${origin}/api/github/webhooks</strong>, but 127\\.0\\.0\\.1 is this machine's own address: GitHub cannot deliver webhooks to it\\. In <a href="${github.url}/settings/apps/foreman">the App's settings</a>, change the <strong>Webhook URL</strong> to this server's public address`));
    assert.match(done, /ANTHROPIC_API_KEY=… foreman app/);
    assert.equal(await setup.exited, 0, setup.stderr());
    assert.match(setup.stderr(), new RegExp(`registered the GitHub App "Foreman" \\(App ID 4242\\); its credentials are in ${dir}/\\.env \\(mode 600\\), with GHE_HOST and GHE_PROTOCOL so that the restart talks to ${github.url}\\.`));
    assert.match(setup.stderr(), new RegExp(`run \`foreman app\` again in ${dir} to serve webhooks`));

    // What GitHub got: Foreman's own app.yml, whatever the directory held, with the webhook path.
    const [posted] = github.manifests;
    assert.equal(posted.manifest.name, 'Foreman');
    assert.equal(posted.manifest.public, false);
    assert.deepEqual(posted.manifest.default_permissions, APP_YML.default_permissions);
    assert.deepEqual(posted.manifest.default_events, APP_YML.default_events);
    assert.equal(posted.manifest.hook_attributes.url, `${origin}/api/github/webhooks`);
    assert.equal(posted.manifest.redirect_url, `${origin}/registered`);

    const envFile = join(dir, '.env');
    assert.equal(statSync(envFile).mode & 0o777, 0o600);
    const written = parseEnv(readFileSync(envFile, 'utf8'));
    assert.equal(written.FOREMAN_HOME, './data');
    assert.equal(written.APP_ID, '4242');
    assert.equal(written.WEBHOOK_SECRET, github.webhookSecret);
    assert.equal(written.PRIVATE_KEY?.trim(), github.pem.trim());
    assert.equal(written.GITHUB_CLIENT_SECRET, undefined, 'the OAuth client secret Foreman never uses is not kept');
    // The App lives on the Enterprise Server the registration talked to: the restart must too.
    assert.equal(written.GHE_HOST, github.host);
    assert.equal(written.GHE_PROTOCOL, 'http');

    // The restart in the same directory, literally `foreman app` there: it serves with the key from
    // .env signing the App's JWT, and asks the fake GitHub of .env's GHE_HOST for tokens.
    const served = startAppIn(dir, { WORKER_SECRET: 'w', FOREMAN_HOME: undefined }, ['--no-worker']);
    try {
      const url = (await served.waitFor(/listening on (http:\/\/\S+)/))[1];
      assert.match(served.stderr(), new RegExp(`read APP_ID, FOREMAN_HOME, GHE_HOST, GHE_PROTOCOL, PRIVATE_KEY, WEBHOOK_SECRET from ${dir}/\\.env\n`));
      assert.ok(existsSync(join(dir, 'data', 'foreman.db')), 'FOREMAN_HOME from .env, relative to the directory');
      assert.doesNotMatch(served.stderr(), /registration/);
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      const token = await fetch(`${url}/internal/tokens`, { method: 'POST', headers: { authorization: 'Bearer w' }, body: JSON.stringify({ installationId: 7, repository: 'demo' }) });
      assert.equal(token.status, 200, await token.clone().text());
      assert.equal(github.tokenRequests, 1);
    } finally {
      assert.equal(await served.stop(), 0, served.stderr());
    }
    assert.deepEqual(github.unexpected, []);
  } finally {
    await setup.stop();
    await github.close();
  }
});

test('the registration takes a code only with a state it issued, writes nothing otherwise, and sends GH_ORG and a public address along', async () => {
  const github = await startFakeGitHubApps();
  const dir = tempDir('foreman-register-');
  const setup = startAppIn(dir, { GHE_HOST: github.host, GHE_PROTOCOL: 'http', GH_ORG: 'acme' });
  try {
    const origin = (await setup.waitFor(SETUP_URL))[1];
    assert.match(setup.stderr(), /under the organization acme/);
    const forged = await fetch(`${origin}/registered?code=abc&state=0123456789abcdef0123456789abcdef`);
    assert.equal(forged.status, 400);
    assert.match(await forged.text(), /its state does not match/);
    assert.equal((await fetch(`${origin}/registered?code=abc`)).status, 400);
    assert.deepEqual(github.conversions, [], 'no code was exchanged');
    assert.equal(existsSync(join(dir, '.env')), false);

    const page = await fetch(`${origin}/?public_url=${encodeURIComponent('https://foreman.example.com/')}`).then((r) => r.text());
    const form = registerForm(page);
    assert.match(form.action, new RegExp(`^${github.url}/organizations/acme/settings/apps/new\\?state=`));
    assert.equal(form.manifest.hook_attributes.url, 'https://foreman.example.com/api/github/webhooks');
    assert.equal(form.manifest.redirect_url, `${origin}/registered`, 'the browser still comes back here');
    // A code GitHub does not know (used, or older than an hour): said, and the registration goes on.
    const state = new URL(form.action).searchParams.get('state');
    const refused = await fetch(`${origin}/registered?code=stale&state=${state}`);
    assert.equal(refused.status, 502);
    assert.match(await refused.text(), /GitHub refused to finish the registration \(404: Not Found\); its code is good once and for an hour: register again/);
    assert.equal(existsSync(join(dir, '.env')), false);
    const bad = await fetch(`${origin}/?public_url=javascript:alert(1)`);
    assert.equal(bad.status, 400);

    const existing = await fetch(`${origin}/existing`).then((r) => r.text());
    assert.match(existing, new RegExp(`Webhook URL</strong> to <strong id="webhook-url">${origin}/api/github/webhooks</strong>`));
    assert.match(existing, /APP_ID=[\s\S]*PRIVATE_KEY_PATH=[\s\S]*WEBHOOK_SECRET=/);
    assert.equal(setup.child.exitCode, null, 'still waiting for a registration');
  } finally {
    assert.equal(await setup.stop(), 0);
    await github.close();
  }
});

test('without --host, the registration pages listen on this machine only: their state lets an answer write .env', async () => {
  const setup = startAppProcess({ FOREMAN_HOME: tempDir(), LOG_LEVEL: 'fatal' }, ['--port', '0'], { cwd: tempDir() });
  try {
    const [, host] = await setup.waitFor(/open http:\/\/([^:/]+):\d+\//);
    assert.equal(host, '127.0.0.1');
  } finally {
    assert.equal(await setup.stop(), 0);
  }
});

test('with NODE_ENV=production and no credentials, foreman app says to register outside production, exit 2', async () => {
  const app = startAppIn(tempDir(), { NODE_ENV: 'production' });
  assert.equal(await app.exited, 2);
  assert.match(app.stderr(), /NODE_ENV=production foreman app does not register an App: register it once outside production/);
});

test('in a real browser, the setup pages tell a Foreman user the webhook URL, GH_ORG, the worker and Docker options, and the register button ends on the next steps', { skip: browserSkipReason() }, async () => {
  const github = await startFakeGitHubApps();
  const dir = tempDir('foreman-register-');
  const setup = startAppIn(dir, { GHE_HOST: github.host, GHE_PROTOCOL: 'http' });
  const browser = await launchBrowser();
  try {
    const origin = (await setup.waitFor(SETUP_URL))[1];
    const page = await browser.newPage();
    await page.goto(`${origin}/`);
    let text = await page.text();
    assert.match(text, /Register Foreman as a GitHub App/);
    assert.ok(text.includes(`GitHub will send webhooks to ${origin}/api/github/webhooks`), text);
    assert.match(text, /start it again with GH_ORG=<organization>/);
    assert.match(text, /127\.0\.0\.1 is this machine's own address: GitHub cannot deliver webhooks to it/);
    assert.ok(text.includes(`Foreman writes the App's credentials to ${dir}/.env`), text);
    assert.match(text, /foreman app --no-worker only serves webhooks; run foreman worker next to it/);
    assert.ok(text.includes(`--env-file ${dir}/.env -e ANTHROPIC_API_KEY foreman`), text);

    // "Use an existing App" names the webhook URL to set (Probot's page left it blank).
    await page.goto(`${origin}/existing`);
    assert.ok((await page.text()).includes(`set the Webhook URL to ${origin}/api/github/webhooks`));

    // The public address, typed in and sent, goes into the manifest.
    await page.goto(`${origin}/`);
    await page.navigateBy(`(document.querySelector('input[name=public_url]').value = 'https://foreman.example.com', document.querySelector('input[name=public_url]').form.submit())`);
    assert.equal(await page.evaluate('document.getElementById("webhook-url").textContent'), 'https://foreman.example.com/api/github/webhooks');
    assert.equal(await page.evaluate('document.getElementById("local-address")'), null, 'a public address gets no warning');

    // Register: the browser posts the manifest to GitHub, which sends it back with a code.
    await page.navigateBy('document.getElementById("register").click()');
    text = await page.text();
    assert.match(text, /Foreman is registered as Foreman/);
    assert.ok(text.includes(`${dir}/.env, readable by you only`), text);
    assert.ok(text.includes('GitHub sends webhooks to https://foreman.example.com/api/github/webhooks'), text);
    assert.equal(await page.evaluate('document.querySelector("#install a").href'), `${github.url}/apps/foreman/installations/new`);
    assert.match(text, /Run foreman app again in .*: it reads .*\.env/);
    assert.match(text, /ANTHROPIC_API_KEY=… foreman app/);
    assert.match(text, /foreman app --no-worker/);
    assert.match(text, /docker run/);

    assert.equal(github.manifests.length, 1);
    assert.equal(github.manifests[0].manifest.hook_attributes.url, 'https://foreman.example.com/api/github/webhooks');
    assert.equal(github.manifests[0].manifest.name, 'Foreman');
    assert.equal(await setup.exited, 0);
    assert.equal(statSync(join(dir, '.env')).mode & 0o777, 0o600);
  } finally {
    await browser.close();
    await setup.stop();
    await github.close();
  }
});
