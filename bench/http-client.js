// A tiny raw-socket HTTP/1.1 client: keep-alive, one request in flight per connection, responses framed by
// Content-Length only (both servers under test always send it). Requests are pre-serialised Buffers.
import { connect } from 'node:net';

const HEADER_END = Buffer.from('\r\n\r\n');

export class Connection {
  /** Resolves once connected. */
  static open(port) {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, noDelay: true });
      socket.once('connect', () => resolve(new Connection(socket)));
      socket.once('error', reject);
    });
  }

  constructor(socket) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.bodyStart = -1;
    this.bodyLength = 0;
    this.status = 0;
    this.onResponse = null;
    this.error = null;
    socket.on('data', (chunk) => this.#data(chunk));
    socket.on('error', (err) => this.#fail(err));
    socket.on('close', () => this.#fail(new Error('connection closed by server')));
  }

  /** Sends one request; `done(status, body)` runs when its response is complete. */
  send(bytes, done) {
    if (this.error) throw this.error;
    this.onResponse = done;
    this.socket.write(bytes);
  }

  /** Promise form, for setup. */
  request(bytes) {
    return new Promise((resolve, reject) => {
      this.rejectPending = reject;
      this.send(bytes, (status, body) => resolve({ status, body }));
    });
  }

  close() {
    this.closing = true;
    this.socket.destroy();
  }

  #fail(err) {
    if (this.closing) return;
    this.error ??= err;
    if (this.onResponse && this.rejectPending) this.rejectPending(err);
    else if (this.onResponse) this.onResponse(0, Buffer.alloc(0));
    this.onResponse = null;
  }

  #data(chunk) {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.bodyStart < 0 && !this.#parseHead()) return;
    const end = this.bodyStart + this.bodyLength;
    if (this.buf.length < end) return;
    const body = this.buf.subarray(this.bodyStart, end);
    const status = this.status;
    this.buf = this.buf.length === end ? Buffer.alloc(0) : this.buf.subarray(end);
    this.bodyStart = -1;
    const done = this.onResponse;
    this.onResponse = null;
    this.rejectPending = null;
    done(status, body);
  }

  #parseHead() {
    const at = this.buf.indexOf(HEADER_END);
    if (at < 0) return false;
    const head = this.buf.toString('latin1', 0, at);
    this.status = Number(head.slice(9, 12));
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!m) {
      this.#fail(new Error(`response without Content-Length: ${head.split('\r\n')[0]}`));
      return false;
    }
    this.bodyLength = Number(m[1]);
    this.bodyStart = at + 4;
    return true;
  }
}

/** Pause between connection opens: long enough for node:cluster's primary to hand one over before the next. */
const OPEN_SPACING_MS = 5;

/**
 * Opens `count` connections one after another, OPEN_SPACING_MS apart, as clients arriving over time would. Against
 * `--workers N` this spreads them evenly: node:cluster's round robin hands a connection that arrives while the
 * chosen worker has not yet taken the previous one to whichever worker frees first, so 50 connections opened at once
 * were seen split 31/19, and the busier worker alone then set the end of the timed window.
 */
export async function openConnections(port, count) {
  const out = [];
  for (let i = 0; i < count; i++) {
    out.push(await Connection.open(port));
    await new Promise((resolve) => setTimeout(resolve, OPEN_SPACING_MS));
  }
  return out;
}

/**
 * Sends every connection's requests in order, one in flight per connection, all connections at once.
 * Returns the elapsed ms, the latency (ms) of every request, failures and one failing sample.
 */
export function runLoad(connections, requestsPerConnection) {
  const total = requestsPerConnection.reduce((n, list) => n + list.length, 0);
  const latencies = new Float64Array(total);
  let recorded = 0;
  let failures = 0;
  let sample = null;
  let running = connections.length;
  return new Promise((resolve) => {
    const start = performance.now();
    const finish = () => {
      if (--running > 0) return;
      resolve({ elapsedMs: performance.now() - start, latencies: latencies.subarray(0, recorded), failures, sample });
    };
    connections.forEach((conn, c) => {
      const list = requestsPerConnection[c];
      let i = 0;
      let sentAt = 0;
      const next = () => {
        if (i === list.length) return finish();
        sentAt = performance.now();
        conn.send(list[i++], onResponse);
      };
      const onResponse = (status, body) => {
        latencies[recorded++] = performance.now() - sentAt;
        if (status !== 200) {
          failures++;
          sample ??= `${status} ${body.toString('utf8').slice(0, 300)}`;
          if (status === 0) return finish(); // the connection is gone
        }
        next();
      };
      next();
    });
  });
}

/** Throughput and latency percentiles of one run. */
export function summarise(run) {
  const sorted = Float64Array.from(run.latencies).sort();
  const pick = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return {
    requests: sorted.length,
    rps: sorted.length / (run.elapsedMs / 1000),
    p50: pick(0.5),
    p99: pick(0.99),
    failures: run.failures,
    sample: run.sample,
  };
}
