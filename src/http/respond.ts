import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { ServiceError, errors, type Protocol } from '../api/errors.js';
import type { Logger } from '../logger.js';
import { StorageUnavailableError } from '../storage/unavailable.js';
import { CORS_HEADER_LINES, CORS_HEADER_PAIRS } from './cors.js';
import { attachedResponse } from './connection-drain.js';
import { logUnavailable } from './unavailable-log.js';

/**
 * The one place that turns results and errors into bytes.
 *
 * Success: 200, `application/json` (restJson1) or `application/x-amz-json-1.1` (awsJson1_1), a JSON object.
 * Errors carry what every official client reads (WIRE §3, SPEC §13.3): the `x-amzn-ErrorType` header (iOS reads
 * only that), a JSON body with `__type` (boto3 and the CLI read only that for awsJson) and `message`, and
 * `x-amzn-RequestId`. Anything that is not a ServiceError is logged with the request id and answered as
 * InternalErrorException without internal detail.
 */
export function sendResult(reply: FastifyReply, protocol: Protocol, requestId: string, result: object): void {
  const body = JSON.stringify(result);
  const headers = [
    ...CORS_HEADER_PAIRS,
    'x-amzn-RequestId', requestId,
    'Content-Type', contentType(protocol),
    'Content-Length', String(Buffer.byteLength(body)),
  ];
  if (isClosing(reply)) headers.push('Connection', 'close');
  // Every successful API call ends here, so its answer is written on node:http's response directly, with the
  // headers that the onSend hook (app.ts) gives what Fastify sends. Fastify's send path (hooks, header bookkeeping,
  // payload checks) cost 2–6% of a ListRecords request's CPU (bench/README.md).
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, headers);
  if (body.length <= ENDED_AT_ONCE_CHARS) {
    res.end(body);
    return;
  }
  // node:http's close() destroys every connection whose answer has been ended (`finished`), though its socket may
  // still hold most of a large one unsent to a slow reader: ending it only once it has all gone to the kernel keeps
  // it "under way" until then, so a shutdown finishes it (and then ends the connection, which close() no longer
  // does). A small answer goes to the kernel at once.
  writeInParts(res, body, () => {
    res.end();
    if (isClosing(reply)) res.socket?.end();
  });
}

/** Answers up to this many characters are ended at once (see sendResult). */
const ENDED_AT_ONCE_CHARS = 16 * 1024;

/**
 * Characters of a large answer encoded and written at a time. A full 1 MB ListRecords answer encoded and written in
 * one go held the event loop for tens of milliseconds on a slow host (on top of reading and serialising it).
 */
export const ANSWER_PART_CHARS = 64 * 1024;

/**
 * Writes `body` a part at a time, each once the previous one has gone to the kernel and the event loop has turned
 * (other requests run in between, and a slow reader holds one part in memory besides the string, not the whole
 * answer encoded), then calls `done`. A part never ends between the two halves of a surrogate pair: each part is
 * encoded on its own, and a lone half would go out as U+FFFD (JSON.stringify leaves no unpaired half). A write
 * that fails, the client gone, ends the chain there: node:http destroys the response.
 */
export function writeInParts(res: ServerResponse, body: string, done: () => void, from = 0): void {
  let end = Math.min(from + ANSWER_PART_CHARS, body.length);
  if (end < body.length && isHighSurrogate(body.charCodeAt(end - 1))) end -= 1;
  res.write(body.slice(from, end), (error) => {
    if (error) return;
    if (end === body.length) done();
    else setImmediate(writeInParts, res, body, done, end);
  });
}

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;

/** True once the server has begun to close: answers then end their keep-alive connection. */
export function isClosing(reply: FastifyReply): boolean {
  return !reply.server.server.listening;
}

function contentType(protocol: Protocol): string {
  return protocol === 'restJson1' ? 'application/json' : 'application/x-amz-json-1.1';
}

export function sendError(
  reply: FastifyReply, protocol: Protocol, requestId: string, err: unknown, logger: Logger,
): void {
  // `complete` rather than `destroyed`: node:http destroys a request once its body has been read, so a reset of
  // another socket (the database's) during the operation would pass for the client's.
  const serviceError = toServiceError(err, requestId, logger, !reply.request.raw.complete);
  // Set on node:http's response, which keeps a name's case, where Fastify's would lower-case it: AWS sends these two
  // as written here, and the Android SDK looks them up case-sensitively (it then missed the request id).
  if (!reply.raw.headersSent) {
    reply.raw.setHeader('x-amzn-RequestId', requestId);
    reply.raw.setHeader('x-amzn-ErrorType', serviceError.code);
  }
  reply
    .code(serviceError.statusFor(protocol))
    .header('content-type', contentType(protocol))
    .headers(serviceError.headers)
    // A Buffer, not a string: Fastify adds `; charset=utf-8` to a string's Content-Type, which AWS does not send.
    .send(Buffer.from(JSON.stringify({ __type: serviceError.code, message: serviceError.message })));
}

function toServiceError(err: unknown, requestId: string, logger: Logger, requestGone: boolean): ServiceError {
  if (err instanceof ServiceError) {
    if (err.fault === 'server') logger.error({ requestId, err }, 'request failed');
    return err;
  }
  const frameworkError = fromFrameworkError(err, requestGone);
  if (frameworkError) return frameworkError;
  if (err instanceof StorageUnavailableError) logUnavailable(logger, requestId, err);
  else logger.error({ requestId, err }, 'unexpected failure');
  return errors.internal(`An internal error occurred; quote request id ${requestId} when reporting it.`);
}

/**
 * Maps the HTTP framework's own client errors (body too large, bad content, a client that went away while sending
 * its body) to AWS-shaped ones. `requestGone`: the request's body never arrived whole (the client hung up).
 */
function fromFrameworkError(err: unknown, requestGone: boolean): ServiceError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  // node:http's "aborted": the client's doing, not a server failure to log, and nobody reads the answer.
  if (requestGone && code === 'ECONNRESET') {
    return errors.serialization('The connection closed before the request body was complete');
  }
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.requestEntityTooLarge('Request body is larger than the server accepts');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return errors.serialization('Request body length does not match its Content-Length header');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.unsupportedMediaType('Unsupported request Content-Type');
    case 'FST_ERR_BAD_URL':
      return errors.invalidParameter('The request path is not valid percent-encoded UTF-8');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return errors.invalidParameter('A path label is longer than the server accepts');
    default:
      // Any other refusal of the framework that blames the request is still the caller's fault, not a 500.
      return typeof code === 'string' && code.startsWith('FST_ERR_') && isClientStatus(err)
        ? errors.serialization('The request could not be read')
        : undefined;
  }
}

function isClientStatus(err: unknown): boolean {
  const status = (err as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/**
 * Requests Node's HTTP parser refuses before any route runs (malformed framing such as Content-Length together with
 * Transfer-Encoding, oversized header sections) are answered in the same AWS shape as every other error, then the
 * connection is closed; a request that did not arrive in time (Node's request and headers timeouts) too, as 408
 * RequestTimeoutException, which the AWS SDKs retry as a transient error.
 */
export function sendClientError(err: Error & { code?: string }, socket: Duplex, logger: Logger): void {
  // A reset connection has nobody left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // A pipelined request received whole before the bad bytes may still be waiting for its answer (a write for its
  // commit). It goes first, so the client does not read this error as that request's answer. A request not received
  // whole (a timed-out body) is the one this error is about.
  const pending = attachedResponse(socket);
  if (pending && pending.req.complete && !pending.writableFinished && !pending.destroyed) {
    pending.once('finish', () => sendClientError(err, socket, logger));
    return;
  }
  const serviceError = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
    ? errors.requestTimeout('The request did not arrive within the time the server allows')
    : err.code === 'HPE_HEADER_OVERFLOW' ? errors.requestEntityTooLarge('Request headers are larger than the server accepts')
    : errors.serialization('The request is not valid HTTP/1.1');
  const requestId = writeClosingError(socket, serviceError);
  logger.debug({ requestId, code: err.code }, 'unparseable request');
  socket.destroy(err);
}

/**
 * A CONNECT request, which node:http hands over outside any route and would otherwise answer by closing the
 * connection without a word: no operation takes that method.
 */
export function answerConnect(req: { url?: string }, socket: Duplex): void {
  writeClosingError(socket, errors.methodNotAllowed(`CONNECT is not allowed on ${req.url ?? ''}`));
  socket.destroy();
}

/**
 * Writes an error answer straight to the socket, for requests no route will answer, saying the connection ends
 * (the caller destroys it). The path may be unknown here; both protocols give these codes the same status.
 */
function writeClosingError(socket: Duplex, serviceError: ServiceError): string {
  const requestId = randomUUID();
  if (!socket.writable) return requestId;
  const status = serviceError.statusFor('restJson1');
  const body = JSON.stringify({ __type: serviceError.code, message: serviceError.message });
  // The headers every other answer carries: Date (the SDKs correct their clock from it) and CORS (without them a
  // browser shows the app a network error instead of the AWS error).
  socket.write(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nDate: ${new Date().toUTCString()}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `x-amzn-RequestId: ${requestId}\r\nx-amzn-ErrorType: ${serviceError.code}\r\n${CORS_HEADER_LINES}Connection: close\r\n\r\n${body}`,
  );
  return requestId;
}
