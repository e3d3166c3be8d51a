import type { FastifyInstance } from 'fastify';
import type { Logger } from '../logger.js';
import { splitUrl } from './request.js';

/**
 * One `debug` line per answered request: its id (the `x-amzn-RequestId` a client can quote), method, path, the
 * Cognito Identity operation (`X-Amz-Target`), status, error type and milliseconds. Registered only when the logger
 * writes debug lines, so that at `info` a request pays nothing for it. The path carries identity IDs, which logs may
 * hold (SECURITY.md); never the query (page and session tokens) nor any header holding a secret.
 */
export function registerAccessLog(app: FastifyInstance, logger: Logger): void {
  app.addHook('onRequest', (req, reply, done) => {
    const started = performance.now();
    reply.raw.once('finish', () => {
      const target = req.headers['x-amz-target'];
      logger.debug({
        requestId: req.id,
        method: req.method,
        path: splitUrl(req.url).rawPath,
        ...(typeof target === 'string' ? { target } : {}),
        status: reply.raw.statusCode,
        ...(reply.raw.statusCode >= 400 ? { errorType: reply.getHeader('x-amzn-ErrorType') } : {}),
        ms: Math.round((performance.now() - started) * 10) / 10,
      }, 'request');
    });
    done();
  });
}
