import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { MAX_ANSWER_BYTES, TriggerFailed, parseAnswer, type TriggerCall, type TriggerInvoker } from './invoker.js';
import { SIGNATURE_HEADER, signWebhookBody } from './webhook-signature.js';

/**
 * Calls webhook triggers: `POST <url>` with the event as a JSON body, `X-Cosync-Signature` (webhook-signature.ts)
 * and `X-Cosync-Request-Id`. A 2xx answer's body is the trigger's output; 429, 502 and 503 mean throttled, 504 a
 * timeout (RETRYABLE_STATUS); any other status, a redirect (never followed: it could leave the allow-list) or a
 * transport failure is a function error.
 * node:http with keep-alive agents (cheaper per call than fetch); close() drops their idle sockets.
 */
export class WebhookInvokers {
  private readonly http = new HttpAgent({ keepAlive: true, maxSockets: 256 });
  private readonly https = new HttpsAgent({ keepAlive: true, maxSockets: 256 });

  constructor(private readonly secret: string, private readonly now: () => number) {}

  forUrl(url: URL): TriggerInvoker {
    return { invoke: (call) => this.invoke(url, call) };
  }

  close(): void {
    this.http.destroy();
    this.https.destroy();
  }

  /**
   * One call; `retried` once it is the second attempt. A kept-alive socket the receiver closes as idle at the moment
   * it is reused fails before any answer (ECONNRESET, EPIPE), and the app's sync would fail for a fault of neither
   * side (nginx and Go servers close idle connections without saying when). Such a call is sent once more, on a new
   * connection (Node's documented `reusedSocket` pattern). A receiver that did read the first one (and then failed
   * to answer) sees the call twice, with the same X-Cosync-Request-Id (docs/sync-triggers.md).
   */
  private invoke(url: URL, call: TriggerCall, retried = false): Promise<unknown> {
    const body = Buffer.from(call.body, 'utf8');
    const secure = url.protocol === 'https:';
    return new Promise<unknown>((resolve, reject) => {
      let answered = false;
      const req = (secure ? httpsRequest : httpRequest)(url, {
        method: 'POST',
        // The retry on a connection of its own: the pool may hold other sockets the receiver is closing.
        agent: retried ? false : secure ? this.https : this.http,
        signal: call.signal,
        headers: {
          'content-type': 'application/json',
          'content-length': body.length,
          'user-agent': 'cosync-sync-trigger',
          [SIGNATURE_HEADER]: signWebhookBody(this.secret, body, this.now(), call.requestId),
          'x-cosync-request-id': call.requestId,
        },
      });
      req.on('error', (err) => {
        const code = (err as NodeJS.ErrnoException).code;
        const beforeAnswer = !answered && !retried && req.reusedSocket && !call.signal.aborted;
        if (beforeAnswer && (code === 'ECONNRESET' || code === 'EPIPE')) {
          resolve(this.invoke(url, call, true));
          return;
        }
        reject(call.signal.aborted ? err : new TriggerFailed('error', 'the Sync Trigger webhook could not be reached', err));
      });
      req.on('response', (res) => {
        answered = true;
        answer(res).then(resolve, reject);
      });
      req.end(body);
    });
  }
}

/**
 * Statuses that say "not now" rather than "this call is wrong": the app's SDK retries the sync. A load balancer in
 * front of a receiver that is restarting answers 502 or 503; its gateway timing out answers 504.
 */
const RETRYABLE_STATUS: ReadonlyMap<number, TriggerFailed['kind']> = new Map([
  [429, 'throttled'], [502, 'throttled'], [503, 'throttled'], [504, 'timeout'],
]);

async function answer(res: IncomingMessage): Promise<unknown> {
  const status = res.statusCode ?? 0;
  const retryable = RETRYABLE_STATUS.get(status);
  if (retryable) {
    discard(res);
    throw new TriggerFailed(retryable, `the Sync Trigger webhook answered HTTP ${status} (try again later)`);
  }
  try {
    if (status < 200 || status > 299) {
      const text = await readCapped(res, 2000).catch(() => '');
      throw new TriggerFailed('error', `the Sync Trigger webhook answered HTTP ${status}`, text);
    }
    return parseAnswer(await readCapped(res, MAX_ANSWER_BYTES, true));
  } catch (err) {
    if (err instanceof TriggerFailed) throw err;
    // The receiver closed the connection in the middle of its answer (node:http's "aborted").
    throw new TriggerFailed('error', 'the Sync Trigger webhook closed the connection before its answer was complete', err);
  }
}

/**
 * Drops an answer's body that nothing reads. A short one is read off, so its keep-alive connection serves the next
 * call (an overloaded receiver is spared a new handshake per throttled call); one that is long, of unknown length, or
 * not over within a second is cut with its connection: a body that never ended kept a socket of the agent's pool.
 */
function discard(res: IncomingMessage): void {
  const length = Number(res.headers['content-length'] ?? Number.NaN);
  if (!(length <= DISCARDED_BODY_BYTES)) {
    res.destroy();
    return;
  }
  const timer = setTimeout(() => res.destroy(), 1000).unref();
  res.once('close', () => clearTimeout(timer));
  res.resume();
}

const DISCARDED_BODY_BYTES = 2048;

/** The body as text, at most `max` bytes: cut there, or refused when `strict`. */
async function readCapped(res: IncomingMessage, max: number, strict = false): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > max) {
      res.destroy();
      if (strict) throw new TriggerFailed('error', 'the Sync Trigger answer is too large');
      chunks.push(buf.subarray(0, buf.length - (size - max)));
      break;
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}
