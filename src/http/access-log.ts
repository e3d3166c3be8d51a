import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../logger.js';
import { splitUrl } from './request.js';

/** What each Cognito Sync route carries in its Fastify config: the name of the operation it serves. */
export interface SyncRouteConfig {
  readonly operation: string;
}

/**
 * One `debug` line per answered request: its id (the `x-amzn-RequestId` a client can quote), method, path, the
 * operation (a Cognito Sync route's name; for Cognito Identity the `X-Amz-Target` as sent), status, error type and
 * milliseconds; `written: false` when the connection closed before the answer was written whole. Registered only
 * when the logger writes debug lines, so that at `info` a request pays nothing for it. The path carries identity
 * IDs, which logs may hold (SECURITY.md); never the query (page and session tokens) nor any header holding a secret.
 */
export function registerAccessLog(app: FastifyInstance, logger: Logger): (req: FastifyRequest, reply: FastifyReply) => void {
  const logAnswer = (req: FastifyRequest, reply: FastifyReply): void => {
    const started = performance.now();
    reply.raw.once('close', () => {
      const target = req.headers['x-amz-target'];
      const { operation } = (req.routeOptions.config ?? {}) as Partial<SyncRouteConfig>;
      const status = reply.raw.statusCode;
      logger.debug({
        requestId: req.id,
        method: req.method,
        path: splitUrl(req.url).rawPath,
        ...(operation !== undefined ? { operation } : typeof target === 'string' ? { target } : {}),
        status,
        ...(status >= 400 ? { errorType: reply.getHeader('x-amzn-ErrorType') } : {}),
        ...(reply.raw.writableFinished ? {} : { written: false }),
        ms: Math.round((performance.now() - started) * 10) / 10,
      }, 'request');
    });
  };
  app.addHook('onRequest', (req, reply, done) => {
    logAnswer(req, reply);
    done();
  });
  return logAnswer;
}
