/**
 * Raw bytes to the server and back, for the hostile-input tests: requests are serialised by hand (so a path, header or
 * body can be anything, malformed framing included), signed with @smithy/signature-v4 the way the official clients
 * sign, and sent over a fresh socket each; the first answer is parsed and the socket dropped. A request with no
 * complete answer within the timeout is reported as a hang.
 */
import { connect } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4, getCanonicalHeaders } from '@smithy/signature-v4';

type SmithyRequest = Parameters<typeof getCanonicalHeaders>[0];

export interface WireRequest {
  readonly method: string;
  /** Path exactly as it goes on the request line. */
  readonly path: string;
  /** Query text exactly as sent, without '?' ('' for none). */
  readonly query: string;
  /** Header lines in order; Host, Content-Length and Connection are added by serialise() unless present. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
}

export interface WireResponse {
  readonly status: number;
  /** Header names lower-cased; repeated headers joined with ', '. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

function lenientDecode(text: string): string {
  try {
    return wellFormed(decodeURIComponent(text));
  } catch {
    return wellFormed(text);
  }
}

/** Lone surrogates as U+FFFD, as they go on the wire (the signer cannot percent-encode them). */
function wellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** Signs `req` as an official client would (X-Amz-Date, X-Amz-Content-Sha256, Authorization, token if any). */
export async function sign(
  req: WireRequest, port: number, credentials: SigningCredentials, service: 'cognito-sync' | 'cognito-identity',
  region: string, date = new Date(),
): Promise<WireRequest> {
  const query: Record<string, string> = {};
  for (const part of req.query.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const name = lenientDecode(eq === -1 ? part : part.slice(0, eq));
    query[name] ??= lenientDecode(eq === -1 ? '' : part.slice(eq + 1));
  }
  const headers: Record<string, string> = { host: `127.0.0.1:${port}` };
  for (const [name, value] of req.headers) headers[name] = value;
  const signer = new SignatureV4({ credentials, region, service, sha256: Sha256, uriEscapePath: true, applyChecksum: true });
  const smithy: SmithyRequest = {
    method: req.method, protocol: 'http:', hostname: '127.0.0.1', port, path: wellFormed(req.path), query, headers, body: req.body,
  };
  const signed = await signer.sign(smithy, { signingDate: date });
  return { ...req, headers: Object.entries(signed.headers).map(([n, v]) => [n, v] as const) };
}

export function serialise(req: WireRequest, port: number): Buffer {
  const has = (name: string) => req.headers.some(([n]) => n.toLowerCase() === name);
  const lines = [`${req.method} ${req.path}${req.query ? `?${req.query}` : ''} HTTP/1.1`];
  if (!has('host')) lines.push(`Host: 127.0.0.1:${port}`);
  for (const [name, value] of req.headers) lines.push(`${name}: ${value}`);
  // Content-Length even beside a Transfer-Encoding header: the server must refuse that framing, not wait for chunks.
  if (!has('content-length') && (req.body.length > 0 || req.method !== 'GET' || has('transfer-encoding'))) {
    lines.push(`Content-Length: ${req.body.length}`);
  }
  if (!has('connection')) lines.push('Connection: close');
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8'), req.body]);
}

const HEADER_END = Buffer.from('\r\n\r\n');

function parseResponse(buf: Buffer, complete: boolean, head: boolean): WireResponse | undefined {
  let at = buf.indexOf(HEADER_END);
  // Interim answers (100 Continue) come before the real one.
  while (at >= 0 && buf.toString('latin1', 9, 10) === '1') {
    buf = buf.subarray(at + 4);
    at = buf.indexOf(HEADER_END);
  }
  if (at < 0) return undefined;
  const [statusLine = '', ...lines] = buf.toString('latin1', 0, at).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  // The answer to HEAD carries the Content-Length of the GET answer, and no body.
  const length = head ? 0 : headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
  const bodyStart = at + 4;
  if (length === undefined ? !complete : buf.length < bodyStart + length) return undefined;
  const body = buf.subarray(bodyStart, length === undefined ? buf.length : bodyStart + length);
  return { status: Number(statusLine.slice(9, 12)), headers, body };
}

/**
 * Sends the bytes on a new connection and resolves with the first complete answer. Rejects when the server closes
 * without a complete answer, or when none arrives within `timeoutMs` (a hang).
 */
export function exchange(port: number, bytes: Buffer, timeoutMs: number): Promise<WireResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const head = bytes.subarray(0, 5).toString('latin1') === 'HEAD ';
    let buf = Buffer.alloc(0);
    let settled = false;
    const finish = (err: Error | undefined, res?: WireResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (res) resolve(res);
      else reject(err);
    };
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms (hang)`)), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const res = parseResponse(buf, false, head);
      if (res) finish(undefined, res);
    });
    // The server may answer and close before reading a body it refuses (413): the answer is what counts.
    socket.on('error', (err) => { if (!parseResponse(buf, true, head)) finish(err); });
    socket.on('close', () => {
      const res = parseResponse(buf, true, head);
      finish(res ? undefined : new Error(`connection closed without a complete answer (${buf.length} bytes received)`), res);
    });
    socket.on('connect', () => socket.write(bytes));
  });
}
