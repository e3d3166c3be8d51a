/**
 * Trigger targets on loopback for the Sync Trigger tests: a webhook receiver that verifies Cosync's signature, and a
 * Lambda-compatible endpoint implementing `POST /2015-03-31/functions/<name>/invocations` the way AWS Lambda answers
 * it (function JSON; `X-Amz-Function-Error: Unhandled` for a thrown error; 429 TooManyRequestsException; 404
 * ResourceNotFoundException for an unknown function). Both route by name, so each test registers its own
 * behaviour, and both record every call.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SIGNATURE_HEADER, verifyWebhookSignature } from '../../src/triggers/webhook-signature.js';

export const WEBHOOK_SECRET = 'test-webhook-secret-0123456789abcdef';
export const LAMBDA_CREDENTIALS = { accessKeyId: 'AKIALAMBDATESTKEY001', secretAccessKey: 'lambda-test-secret/0123456789' };

/** What a handler answers: a value sent as the JSON output, or a special answer. */
export type Answer =
  | { readonly json: unknown }
  | { readonly raw: string; readonly status?: number }
  | { readonly throttle: true }
  | { readonly fail: string }
  | { readonly status: number };

export type Handler = (event: TriggerEvent, call: RecordedCall) => Answer | Promise<Answer>;

/** The event as received (loosely typed: the tests look at exactly what was sent). */
export interface TriggerEvent {
  version: number;
  eventType: string;
  region: string;
  identityPoolId: string;
  identityId: string;
  datasetName: string;
  datasetRecords: Record<string, { oldValue: string | null; newValue: string | null; op: string } | null>;
  [other: string]: unknown;
}

export interface RecordedCall {
  readonly name: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly event: TriggerEvent;
  /** Webhook: the signature verified with WEBHOOK_SECRET. Lambda: the SigV4 credential scope named the test key. */
  readonly authentic: boolean;
}

export interface Target {
  readonly url: string;
  readonly calls: RecordedCall[];
  /** Calls for one name. */
  callsFor(name: string): RecordedCall[];
  on(name: string, handler: Handler): void;
  close(): Promise<void>;
}

/** Echo: the event back unchanged (the no-op trigger). */
export const echo: Handler = (event) => ({ json: event });
/** Answers after `ms`, or when aborted by the caller going away. */
export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function start(route: (req: IncomingMessage, res: ServerResponse, body: string) => Promise<void>): Promise<Server> {
  const server = createServer((req, res) => {
    readBody(req)
      .then((body) => route(req, res, body))
      .catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function target(server: Server, base: string, handlers: Map<string, Handler>, calls: RecordedCall[]): Target {
  return {
    url: base,
    calls,
    callsFor: (name) => calls.filter((c) => c.name === name),
    on: (name, handler) => { handlers.set(name, handler); },
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Webhook receiver: `POST /hook/<name>`. */
export async function startWebhookReceiver(): Promise<Target> {
  const handlers = new Map<string, Handler>();
  const calls: RecordedCall[] = [];
  const server = await start(async (req, res, body) => {
    const name = decodeURIComponent((req.url ?? '').replace(/^\/hook\//, '').replace(/\?.*$/, ''));
    const header = req.headers[SIGNATURE_HEADER];
    const requestId = req.headers['x-cosync-request-id'];
    const authentic = typeof requestId === 'string'
      && verifyWebhookSignature(WEBHOOK_SECRET, typeof header === 'string' ? header : undefined, body, Date.now(), 300, requestId);
    const call: RecordedCall = { name, headers: req.headers, body, event: JSON.parse(body) as TriggerEvent, authentic };
    calls.push(call);
    const handler = handlers.get(name);
    if (req.method !== 'POST' || !handler) {
      res.writeHead(404).end();
      return;
    }
    const answer = await handler(call.event, call);
    if ('throttle' in answer) res.writeHead(429, { 'content-type': 'text/plain' }).end('slow down');
    else if ('fail' in answer) res.writeHead(500, { 'content-type': 'text/plain' }).end(answer.fail);
    else if ('json' in answer) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer.json));
    else if ('raw' in answer) res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' }).end(answer.raw);
    else res.writeHead(answer.status).end();
  });
  const { port } = server.address() as AddressInfo;
  return target(server, `http://127.0.0.1:${port}/hook`, handlers, calls);
}

/**
 * Lambda-compatible endpoint. The function name is the last part of the ARN in the path (a qualifier is kept:
 * `fn:live` is its own name). The SDK signs for service `lambda`; the credential scope must name the test key.
 */
export async function startLambdaEndpoint(): Promise<Target & { readonly regions: string[] }> {
  const handlers = new Map<string, Handler>();
  const calls: RecordedCall[] = [];
  const regions: string[] = [];
  const server = await start(async (req, res, body) => {
    const m = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec((req.url ?? '').replace(/\?.*$/, ''));
    if (req.method !== 'POST' || !m) {
      res.writeHead(404, { 'x-amzn-errortype': 'UnknownOperationException' }).end('{}');
      return;
    }
    const functionName = decodeURIComponent(m[1] ?? '');
    const name = functionName.replace(/^arn:[^:]+:lambda:[^:]+:\d{12}:function:/, '');
    const auth = req.headers.authorization ?? '';
    const scope = /Credential=([^/]+)\/\d{8}\/([^/]+)\/lambda\/aws4_request/.exec(auth);
    regions.push(scope?.[2] ?? '');
    const authentic = scope?.[1] === LAMBDA_CREDENTIALS.accessKeyId && req.headers['x-amz-invocation-type'] === 'RequestResponse';
    const call: RecordedCall = { name, headers: req.headers, body, event: JSON.parse(body) as TriggerEvent, authentic };
    calls.push(call);
    const handler = handlers.get(name);
    const requestId = `req-${calls.length}`;
    if (!handler) {
      res.writeHead(404, { 'content-type': 'application/json', 'x-amzn-errortype': 'ResourceNotFoundException', 'x-amzn-requestid': requestId })
        .end(JSON.stringify({ Type: 'User', message: `Function not found: ${functionName}` }));
      return;
    }
    let answer: Answer;
    try {
      answer = await handler(call.event, call);
    } catch (err) {
      answer = { fail: String(err) };
    }
    const ok = { 'content-type': 'application/json', 'x-amzn-requestid': requestId, 'x-amz-executed-version': '$LATEST' };
    if ('throttle' in answer) {
      res.writeHead(429, { 'content-type': 'application/json', 'x-amzn-errortype': 'TooManyRequestsException', 'x-amzn-requestid': requestId })
        .end(JSON.stringify({ Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded', Type: 'User', message: 'Rate Exceeded.' }));
    } else if ('fail' in answer) {
      res.writeHead(200, { ...ok, 'x-amz-function-error': 'Unhandled' })
        .end(JSON.stringify({ errorType: 'Error', errorMessage: answer.fail, trace: [] }));
    } else if ('json' in answer) {
      res.writeHead(200, ok).end(JSON.stringify(answer.json));
    } else if ('raw' in answer) {
      res.writeHead(answer.status ?? 200, ok).end(answer.raw);
    } else {
      res.writeHead(answer.status, { 'x-amzn-requestid': requestId }).end();
    }
  });
  const { port } = server.address() as AddressInfo;
  return { ...target(server, `http://127.0.0.1:${port}`, handlers, calls), regions };
}

/** A promise the test opens when it wants a slow trigger to answer. */
export function gate() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => { open = resolve; });
  return { opened, open };
}
