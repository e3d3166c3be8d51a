import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Browser apps (the v3 SDK or amazon-cognito-js in a web page) call AWS endpoints cross-origin, and AWS answers
 * CORS for Cognito Sync and Cognito Identity. Requests are authenticated by SigV4 headers, not cookies, so any
 * origin may call; the error and request-id headers are exposed so the SDKs can read them.
 *
 * Every answer carries these headers: respond.ts writes them into API results, and an onSend hook (app.ts) adds them
 * to everything Fastify sends (errors, discovery documents, preflights).
 */
export const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'x-amzn-RequestId, x-amzn-ErrorType, x-amzn-ErrorMessage, Date',
} as const;
/** The same as name/value pairs in one flat list, as node:http's writeHead takes them. */
export const CORS_HEADER_PAIRS: readonly string[] = Object.entries(CORS_HEADERS).flat();
/** The same as raw header lines, for answers written straight to the socket. */
export const CORS_HEADER_LINES = Object.entries(CORS_HEADERS).map(([name, value]) => `${name}: ${value}\r\n`).join('');

/**
 * Preflights (OPTIONS with Access-Control-Request-Method) are answered on their own route, so no hook runs on every
 * other request. Any other OPTIONS request is no operation: `answerNoRoute` answers it as an unknown route is answered.
 */
export function registerCorsPreflight(
  app: FastifyInstance, answerNoRoute: (req: FastifyRequest, reply: FastifyReply) => void,
): void {
  app.options('*', (req, reply) => {
    if (!req.headers['access-control-request-method']) {
      answerNoRoute(req, reply);
      return;
    }
    reply
      .code(200)
      .header('Access-Control-Allow-Methods', 'GET, POST, DELETE, OPTIONS')
      .header('Access-Control-Allow-Headers', req.headers['access-control-request-headers'] ?? '*')
      .header('Access-Control-Max-Age', '86400')
      .send();
  });
}
