/**
 * WebSocket clients for the broadcast-lag scenario, in their own process (not the server's, not the load
 * generator's). Usage: node --import tsx bench/ws-clients.ts <ws url> <clients>
 *
 * IPC protocol with bench/main.ts: → `{type:'ready', connected}` once every client is open; ← `'start'`
 * clears the samples; ← `'stop'` → `{type:'result', …}` with the lag percentiles.
 *
 * Lag = receive time − envelope `timestamp` (CONTRACT §4.2: ms at broadcast, same machine clock). Both are
 * whole milliseconds, so each sample is exact to ±1 ms. Only the timestamp is read from each frame (no full
 * JSON.parse) so that 1 000 clients in one process measure the server, not this process's parser.
 */
import { WebSocket } from 'ws';

const url = process.argv[2]!;
const count = Number(process.argv[3]);
const KEY = '"timestamp":';

let samples: number[] = [];
let recording = false;
let closedEarly = 0;
const clients: WebSocket[] = [];

function onMessage(data: Buffer): void {
  if (!recording) return;
  const now = Date.now();
  const text = data.toString('latin1');
  const at = text.lastIndexOf(KEY);
  if (at === -1) return;
  const ts = parseInt(text.slice(at + KEY.length), 10);
  samples.push(now - ts);
}

async function connectAll(): Promise<void> {
  // Connect in batches: 1 000 simultaneous upgrades would measure the accept queue, not broadcasts.
  const batch = 50;
  for (let i = 0; i < count; i += batch) {
    const opened: Promise<void>[] = [];
    for (let j = i; j < Math.min(count, i + batch); j++) {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      clients.push(ws);
      ws.on('message', onMessage);
      ws.on('close', () => {
        if (recording) closedEarly++;
      });
      opened.push(
        new Promise((resolve, reject) => {
          ws.once('open', () => resolve());
          ws.once('error', reject);
        }),
      );
    }
    await Promise.all(opened);
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
    const sorted = Float64Array.from(samples).sort();
    const arr = Array.from(sorted);
    process.send!({
      type: 'result',
      samples: arr.length,
      p50: percentile(arr, 50),
      p99: percentile(arr, 99),
      max: arr.length ? arr[arr.length - 1] : NaN,
      closedEarly,
    });
  } else if (msg === 'exit') {
    for (const ws of clients) ws.terminate();
    process.exit(0);
  }
});

connectAll().then(
  () => process.send!({ type: 'ready', connected: clients.filter((c) => c.readyState === WebSocket.OPEN).length }),
  (err: Error) => {
    process.send!({ type: 'error', message: err.message });
    process.exit(1);
  },
);
