// The floor for the webhook benchmark: a bare Probot app whose handler does nothing, served by
// Probot's own middleware. Prints its URL on stdout, then serves until killed.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNodeMiddleware, Probot } from 'probot';

const probot = new Probot({ appId: 1, privateKey: process.env.PRIVATE_KEY!, secret: process.env.WEBHOOK_SECRET!, logLevel: 'fatal' });
const middleware = await createNodeMiddleware((app) => app.on('issue_comment.created', async () => {}), { probot });
const server = createServer((req, res) => middleware(req, res, () => res.writeHead(404).end()));
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`));
