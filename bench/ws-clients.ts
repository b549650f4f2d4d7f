/**
 * WebSocket clients for the broadcast-lag scenario, in their own process (not the server's, not the load
 * generator's). Usage: node --import tsx bench/ws-clients.ts <ws url> <clients>
 *
 * IPC protocol with bench/main.ts: → `{type:'ready', connected}` once every client is open; ← `'start'`
 * clears the samples; ← `'stop'` → `{type:'result', …}` with the lag percentiles.
 *
 * Lag = receive time − envelope `timestamp` (docs/behaviour.md §4.2: ms at broadcast, same machine clock). Both are
 * whole milliseconds, so each sample is exact to ±1 ms.
 *
 * Why raw sockets and not the `ws` client: 1 000 clients at 100 events/s are 100 000 frames per second into
 * this one process, on the same 2 cores as the server. With `ws` (a stream, a parser and a `message` event per
 * frame) this process fell behind — fewer than half of the frames arrived inside the measuring window while the
 * server's profile was ~40 % idle — so the lag measured this process, not the server. Each client here does a
 * real RFC 6455 handshake and reads real frames, but parses only what the measurement needs: frame boundaries
 * and the envelope's `timestamp`. It answers pings (masked pong, as a client must) and reports any close.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';

const url = new URL(process.argv[2]!);
const count = Number(process.argv[3]);
const KEY = '"timestamp":';

let samples: number[] = [];
let recording = false;
let closedEarly = 0;
let badFrames = 0;
const sockets: net.Socket[] = [];

/** A masked client frame (RFC 6455 §5.3: every client frame is masked; a zero key leaves the payload as is). */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  if (payload.length > 125) throw new Error('control frame too long');
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}

function onText(payload: Buffer, now: number): void {
  if (!recording) return;
  const text = payload.toString('latin1');
  const at = text.lastIndexOf(KEY);
  if (at === -1) return;
  samples.push(now - parseInt(text.slice(at + KEY.length), 10));
}

/** Consume every complete frame at the head of `buf`; returns the unconsumed rest. */
function readFrames(socket: net.Socket, buf: Buffer): Buffer {
  const now = Date.now();
  let at = 0;
  for (;;) {
    if (buf.length - at < 2) break;
    const opcode = buf[at]! & 0x0f;
    const masked = (buf[at + 1]! & 0x80) !== 0;
    let len = buf[at + 1]! & 0x7f;
    let head = 2;
    if (len === 126) {
      if (buf.length - at < 4) break;
      len = buf.readUInt16BE(at + 2);
      head = 4;
    } else if (len === 127) {
      if (buf.length - at < 10) break;
      len = Number(buf.readBigUInt64BE(at + 2));
      head = 10;
    }
    if (masked) {
      badFrames++; // a server never masks (RFC 6455 §5.1)
      socket.destroy();
      return Buffer.alloc(0);
    }
    if (buf.length - at < head + len) break;
    const payload = buf.subarray(at + head, at + head + len);
    if (opcode === 0x1) onText(payload, now);
    else if (opcode === 0x9) socket.write(clientFrame(0xa, Buffer.from(payload)));
    else if (opcode === 0x8) socket.end();
    at += head + len;
  }
  return at === buf.length ? Buffer.alloc(0) : buf.subarray(at);
}

function connect(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port) });
    socket.setNoDelay(true);
    let pending: Buffer = Buffer.alloc(0);
    let open = false;
    socket.once('connect', () => {
      socket.write(
        `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      if (!open) {
        const end = pending.indexOf('\r\n\r\n');
        if (end === -1) return;
        const status = pending.subarray(0, pending.indexOf('\r\n')).toString('latin1');
        if (!/^HTTP\/1\.1 101 /.test(status)) {
          socket.destroy();
          reject(new Error(`upgrade refused: ${status}`));
          return;
        }
        open = true;
        pending = pending.subarray(end + 4);
        resolve(socket);
      }
      if (pending.length > 0) pending = readFrames(socket, pending);
    });
    socket.once('error', reject);
    socket.once('close', () => {
      if (recording) closedEarly++;
    });
  });
}

async function connectAll(): Promise<void> {
  // Connect in batches: 1 000 simultaneous upgrades would measure the accept queue, not broadcasts.
  const batch = 50;
  for (let i = 0; i < count; i += batch) {
    const opened: Promise<net.Socket>[] = [];
    for (let j = i; j < Math.min(count, i + batch); j++) opened.push(connect());
    sockets.push(...(await Promise.all(opened)));
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

process.on('message', (msg) => {
  if (msg === 'start') {
    samples = [];
    recording = true;
  } else if (msg === 'stop') {
    recording = false;
    const arr = Array.from(Float64Array.from(samples).sort());
    process.send!({
      type: 'result',
      samples: arr.length,
      p50: percentile(arr, 50),
      p99: percentile(arr, 99),
      max: arr.length ? arr[arr.length - 1] : NaN,
      closedEarly,
      badFrames,
    });
  } else if (msg === 'exit') {
    for (const s of sockets) s.destroy();
    process.exit(0);
  }
});

connectAll().then(
  () => process.send!({ type: 'ready', connected: sockets.filter((s) => !s.destroyed).length }),
  (err: Error) => {
    process.send!({ type: 'error', message: err.message });
    process.exit(1);
  },
);
