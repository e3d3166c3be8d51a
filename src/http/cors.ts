import type { FastifyInstance } from 'fastify';

/**
 * Browser apps (the v3 SDK or amazon-cognito-js in a web page) call AWS endpoints cross-origin, and AWS answers
 * CORS for Cognito Sync and Cognito Identity. Requests are authenticated by SigV4 headers, not cookies, so any
 * origin may call; the error and request-id headers are exposed so the SDKs can read them.
 */
export function registerCors(app: FastifyInstance): void {
  // A callback hook, not an async one: it runs on every request, and an async hook costs a promise and a tick.
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('Access-Control-Allow-Origin', '*');
    reply.header('Access-Control-Expose-Headers', 'x-amzn-RequestId, x-amzn-ErrorType, x-amzn-ErrorMessage, Date');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      // Answered here: the route is not run, so done() is not called.
      reply
        .code(200)
        .header('Access-Control-Allow-Methods', 'GET, POST, DELETE, OPTIONS')
        .header('Access-Control-Allow-Headers', req.headers['access-control-request-headers'] ?? '*')
        .header('Access-Control-Max-Age', '86400')
        .send();
      return;
    }
    done();
  });
}
