// The pages of the App registration (`foreman app` without credentials): what will be registered,
// how to use an App registered already, and, once GitHub has created it, the Foreman user's next
// steps. Every value is escaped: the Host header and GitHub's answers are not trusted.
import { escapeHtml } from '../report/markdown.ts';
import { WEBHOOK_PATH } from './webhooks.ts';

export interface SetupView {
  /** GitHub's "new App" form, with the registration's state. */
  createAppUrl: string;
  manifest: { name: string; default_permissions: Record<string, string>; default_events: string[] };
  webhookUrl: string;
  /** GitHub's web address (github.com or the Enterprise Server). */
  githubUrl: string;
  /** GH_ORG, or null for the user's own account. */
  organization: string | null;
  /** Where the credentials go, and where `foreman app` reads them back. */
  dir: string;
  envFile: string;
}

export interface RegisteredView {
  name: string;
  appId: number;
  installUrl: string;
  settingsUrl: string;
  webhookUrl: string;
  dir: string;
  envFile: string;
  /** False when GitHub gave no webhook secret: one must be set in the App's settings. */
  hasWebhookSecret: boolean;
  /** GHE_HOST, GHE_PROTOCOL when they were written to .env too. */
  serverSettings: string[];
  githubUrl: string;
}

const code = (text: string) => `<code>${escapeHtml(text)}</code>`;
const link = (url: string, text: string) => `<a href="${escapeHtml(url)}">${escapeHtml(text)}</a>`;

export function setupPage(view: SetupView): string {
  const owner = view.organization
    ? `the organization ${code(view.organization)} (<code>GH_ORG</code>)`
    : `your own account on ${escapeHtml(view.githubUrl)}; to register it under an organization, stop <code>foreman app</code> and start it again with ${code('GH_ORG=<organization>')}`;
  const permissions = Object.entries(view.manifest.default_permissions).map(([name, level]) => `<li>${code(name)}: ${escapeHtml(level)}</li>`);
  return layout(
    'Register Foreman as a GitHub App',
    `<h1>Register Foreman as a GitHub App</h1>
<p>Foreman registers the App from its own manifest (<code>app.yml</code> in the Foreman package). GitHub shows what it asks for and lets you change the name (App names are unique on GitHub) before you create it; then it sends you back here, and Foreman writes the App's credentials to ${code(view.envFile)}, readable by you only.</p>
<p>The App will belong to ${owner}.</p>
<h2>Webhooks</h2>
<p>GitHub will send webhooks to <strong id="webhook-url">${escapeHtml(view.webhookUrl)}</strong>. GitHub must reach this server there: if this page's address is not the one GitHub can reach, give the public address of this server (a reverse proxy in front of it that forwards ${code(WEBHOOK_PATH)}):</p>
${localWarning(view.webhookUrl)}
<form method="get" action="/"><input type="url" name="public_url" size="40" placeholder="https://foreman.example.com" required> <button type="submit">Use this address</button></form>
<p>You can also change the webhook URL in the App's settings later.</p>
<h2>Register</h2>
<form action="${escapeHtml(view.createAppUrl)}" method="post">
<input type="hidden" name="manifest" id="manifest" value="${escapeHtml(JSON.stringify(view.manifest))}">
<button type="submit" id="register">Register ${escapeHtml(view.manifest.name)} on GitHub</button>
</form>
<p>It asks for these permissions:</p>
<ul>${permissions.join('')}</ul>
<p>(<code>security_events</code> is only for uploading findings to code scanning, <code>sarif: true</code>), and these events: ${view.manifest.default_events.map(code).join(', ')}.</p>
<p>${link('/existing', 'Registered an App for Foreman already? Use it instead.')}</p>
${startSteps(view, 'After registering')}`,
  );
}

export function existingAppPage(view: SetupView): string {
  return layout(
    'Use an existing GitHub App with Foreman',
    `<h1>Use an existing GitHub App</h1>
<ol>
<li>In the App's settings on GitHub (${link(`${view.githubUrl}${view.organization ? `/organizations/${view.organization}` : ''}/settings/apps`, 'your GitHub Apps')}), set the <strong>Webhook URL</strong> to <strong id="webhook-url">${escapeHtml(view.webhookUrl)}</strong> and a webhook secret; give it the permissions and events of Foreman's <code>app.yml</code>: ${Object.entries(view.manifest.default_permissions).map(([name, level]) => code(`${name}: ${level}`)).join(', ')}; events ${view.manifest.default_events.map(code).join(', ')}.</li>
<li>Generate a private key there (<em>Private keys</em>), and write to ${code(view.envFile)} (then <code>chmod 600</code> it), or set in the environment:
<pre>APP_ID=&lt;the App ID, in General&gt;
PRIVATE_KEY_PATH=&lt;the .pem file you downloaded&gt;
WEBHOOK_SECRET=&lt;the webhook secret&gt;</pre></li>
<li>Stop this <code>foreman app</code> (Ctrl-C) and start it again in ${code(view.dir)}.</li>
</ol>
${startSteps(view, 'Start serving')}
<p>${link('/', 'Back: register a new App')}</p>`,
  );
}

export function registeredPage(view: RegisteredView): string {
  const settings = link(view.settingsUrl, "the App's settings");
  const local = localHost(view.webhookUrl);
  // Registration is done: only what is left to do, no address to give.
  const webhook = local
    ? `<li class="warning" id="local-address">GitHub sends webhooks to <strong id="webhook-url">${escapeHtml(view.webhookUrl)}</strong>, but ${escapeHtml(local)} is this machine's own address: GitHub cannot deliver webhooks to it. In ${settings}, change the <strong>Webhook URL</strong> to this server's public address followed by ${code(WEBHOOK_PATH)}.</li>`
    : `<li>GitHub sends webhooks to <strong id="webhook-url">${escapeHtml(view.webhookUrl)}</strong>. If this server is reached at another address, change it in ${settings}.</li>`;
  const server = view.serverSettings.length ? ` So that <code>foreman app</code> keeps talking to ${escapeHtml(view.githubUrl)}, ${view.serverSettings.map(code).join(' and ')} are in it too.` : '';
  return layout(
    `Foreman is registered as ${view.name}`,
    `<h1>Foreman is registered as ${escapeHtml(view.name)}</h1>
<p>The App's ID (<code>APP_ID</code> ${escapeHtml(String(view.appId))}), private key and webhook secret are in ${code(view.envFile)}, readable by you only.${server} <code>foreman app</code> has stopped: this page is its last.</p>
<ol>
<li id="install">${link(view.installUrl, 'Install the App')} on the repositories Foreman should serve.</li>
${webhook}
${view.hasWebhookSecret ? '' : `<li>GitHub gave no webhook secret: set one in ${settings} and put it in ${code(view.envFile)} as <code>WEBHOOK_SECRET=…</code>.</li>\n`}</ol>
${startSteps(view, 'Start serving')}`,
  );
}

export function problemPage(title: string, message: string, status: number): { status: number; html: string } {
  return { status, html: layout(title, `<h1>${escapeHtml(title)}</h1><p id="problem">${escapeHtml(message)}</p><p>${link('/', 'Back to the registration')}</p>`) };
}

/** The webhook URL's host when it is this machine's own, which only a GitHub on this machine reaches. */
function localHost(webhookUrl: string): string | null {
  const host = new URL(webhookUrl).hostname;
  return /^(localhost|127(\.\d+){3}|\[::1\]|0\.0\.0\.0)$/.test(host) ? host : null;
}

/** Before registering: the warning next to the field for the public address. */
function localWarning(webhookUrl: string): string {
  const host = localHost(webhookUrl);
  if (!host) return '';
  return `<p class="warning" id="local-address">${escapeHtml(host)} is this machine's own address: GitHub cannot deliver webhooks to it. Give the public address below, or change the webhook URL in the App's settings after registering.</p>`;
}

/** How to start serving, the same before and after registering. */
function startSteps(view: { dir: string; envFile: string }, heading: string): string {
  return `<h2 id="start">${escapeHtml(heading)}</h2>
<p>Run <code>foreman app</code> again in ${code(view.dir)}: it reads ${code(view.envFile)} (variables set in the environment win) and serves webhooks at ${code(WEBHOOK_PATH)} and a health check at <code>/healthz</code>. Its worker runs the workflows and needs ${code('ANTHROPIC_API_KEY')}, in the environment or in that file:</p>
<pre>cd ${escapeHtml(view.dir)}
ANTHROPIC_API_KEY=… foreman app</pre>
<ul>
<li><strong>Workers elsewhere:</strong> <code>foreman app --no-worker</code> only serves webhooks; run <code>foreman worker</code> next to it with the same <code>FOREMAN_HOME</code>, <code>FOREMAN_APP_URL</code> (this app's address) and <code>WORKER_SECRET</code> (set the same value for both).</li>
<li><strong>Docker</strong>, with the image built from Foreman's <code>Dockerfile</code> (<code>docker build -t foreman .</code>): <pre>docker run -d --init --hostname foreman -p 3000:3000 -v foreman-home:/data \\
  --env-file ${escapeHtml(view.envFile)} -e ANTHROPIC_API_KEY foreman</pre></li>
</ul>`;
}

function layout(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}code,pre{background:#f3f3f3;padding:0 .2em}pre{padding:.5em;white-space:pre-wrap}.warning{border-left:4px solid #d73a49;padding-left:.5em}button{font-size:1rem;padding:.4em 1em}</style>
</head><body>
${body}
</body></html>
`;
}
