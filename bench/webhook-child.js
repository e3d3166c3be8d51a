// The no-op webhook Sync Trigger of the bench, in its own process (forked by run.js), so neither the server nor
// the load generator pays for it. It does what a minimal real receiver does: reads the body, verifies Cosync's
// X-Cosync-Signature, and answers the event unchanged (the no-op output). Sends {port} when listening; exits on
// {type:'exit'}. A call that fails verification is answered 401, which the server reports as a failed request.
import { createServer } from 'node:http';
import { BENCH_WEBHOOK_SECRET } from './sign.js';

const { verifyWebhookSignature } = await import('../dist/triggers/webhook-signature.js');

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (!verifyWebhookSignature(BENCH_WEBHOOK_SECRET, req.headers['x-cosync-signature'], body, Date.now(), 300, req.headers['x-cosync-request-id'])) {
      res.writeHead(401, { 'content-length': 0 }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
process.on('message', (msg) => {
  if (msg.type === 'exit') {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});
process.send({ type: 'ready', port: server.address().port });
