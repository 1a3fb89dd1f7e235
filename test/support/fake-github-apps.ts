// A local stand-in for GitHub's side of registering an App from a manifest, reached the way
// Foreman reaches GitHub Enterprise Server (GHE_HOST, GHE_PROTOCOL=http): the "new App" form
// (which here creates the App at once instead of showing GitHub's confirmation page), the code
// exchange, and installation tokens, for which it checks the App's JWT against the key it issued.
import { createPublicKey, createVerify, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PostedManifest {
  /** The form's path: /settings/apps/new or /organizations/<org>/settings/apps/new. */
  path: string;
  state: string | null;
  manifest: any;
}

export interface FakeGitHubApps {
  url: string;
  /** host:port, for GHE_HOST. */
  host: string;
  manifests: PostedManifest[];
  conversions: string[];
  /** Installation token requests whose JWT was signed with the App's key. */
  tokenRequests: number;
  /** The App's key, as GitHub hands it out once (PKCS#1 PEM). */
  pem: string;
  appId: number;
  webhookSecret: string;
  unexpected: string[];
  close(): Promise<void>;
}

export async function startFakeGitHubApps(): Promise<FakeGitHubApps> {
  const { privateKey: pem, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const appId = 4242;
  const codes = new Map<string, any>();
  const fake = { manifests: [] as PostedManifest[], conversions: [] as string[], tokenRequests: 0, unexpected: [] as string[], pem, appId, webhookSecret: randomBytes(20).toString('hex') };
  let url = '';
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d) => (body += d)).on('end', () => {
      const address = new URL(req.url ?? '/', 'http://x');
      const json = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      const route = `${req.method} ${address.pathname}`;
      if (/^POST (\/organizations\/[\w-]+)?\/settings\/apps\/new$/.test(route)) {
        const manifest = JSON.parse(new URLSearchParams(body).get('manifest') ?? 'null');
        const state = address.searchParams.get('state');
        fake.manifests.push({ path: address.pathname, state, manifest });
        const code = randomBytes(10).toString('hex');
        codes.set(code, { manifest, organization: /^\/organizations\/([\w-]+)/.exec(address.pathname)?.[1] });
        const back = new URL(manifest.redirect_url);
        back.searchParams.set('code', code);
        if (state) back.searchParams.set('state', state);
        return res.writeHead(302, { location: back.toString() }).end();
      }
      const conversion = /^POST \/api\/v3\/app-manifests\/([\w-]+)\/conversions$/.exec(route);
      if (conversion) {
        const code = conversion[1];
        fake.conversions.push(code);
        const registration = codes.get(code);
        codes.delete(code);
        if (!registration) return json(404, { message: 'Not Found' });
        const slug = String(registration.manifest.name).toLowerCase().replace(/[^a-z0-9]+/g, '-');
        return json(201, {
          id: appId,
          slug,
          name: registration.manifest.name,
          owner: registration.organization ? { login: registration.organization, type: 'Organization' } : { login: 'octocat', type: 'User' },
          html_url: `${url}/apps/${slug}`,
          client_id: 'Iv1.test',
          client_secret: 'client-secret',
          webhook_secret: fake.webhookSecret,
          pem,
        });
      }
      if (/^POST \/api\/v3\/app\/installations\/\d+\/access_tokens$/.test(route)) {
        const jwt = /^(?:bearer|Bearer) (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
        if (!jwtSignedBy(jwt, publicKey, appId)) return json(401, { message: 'A JSON web token could not be decoded' });
        fake.tokenRequests++;
        return json(201, { token: 'ghs_test', expires_at: new Date(Date.now() + 3_600_000).toISOString() });
      }
      fake.unexpected.push(route);
      json(404, { message: 'Not Found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  url = `http://${host}`;
  return Object.assign(fake, {
    url,
    host,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}

function jwtSignedBy(jwt: string, publicKey: string, appId: number): boolean {
  const [header, payload, signature] = jwt.split('.');
  if (!header || !payload || !signature) return false;
  const valid = createVerify('RSA-SHA256').update(`${header}.${payload}`).verify(createPublicKey(publicKey), Buffer.from(signature, 'base64url'));
  return valid && String(JSON.parse(Buffer.from(payload, 'base64url').toString()).iss) === String(appId);
}
