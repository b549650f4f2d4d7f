/**
 * What validating every broadcast costs (docs/decisions.md, "Every broadcast is validated"). Not part of the
 * bench run: `npx tsx bench/tools/event-validation.ts [clients=100]`.
 *
 * 1. Per payload kind: the precompiled catalogue validator (`validateAgainstCatalogue`) next to what the hub
 *    does anyway for every event (one JSON.stringify of the envelope + one frame), in µs per event.
 * 2. A real EventHub on a real port with N real WebSocket clients: CPU time of `broadcast()` (which also writes
 *    to every socket) for a stream of typical events, with and without the validation hook, alternating rounds.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import type { HubEvent } from '../../src/ws/hub.js';
import { EventHub, textFrame } from '../../src/ws/hub.js';
import { validateAgainstCatalogue } from '../../src/server.js';
import { createCorsPolicy } from '../../src/http/cors.js';
import { silentLogger } from '../../src/log.js';
import type { Project, QueueState, Session, SessionTimelineEvent, Task } from '../../generated/types/index.js';
import { projectDefaults } from '../../generated/model/index.js';

const clientsWanted = Number(process.argv[2] ?? 100);
const now = Date.now();

// Schema defaults first, so that a field added to the spec later needs no edit here.
const project: Project = { id: 'proj_1', ...projectDefaults(), name: 'Demo', workingDir: '/home/me/demo', createdAt: now, updatedAt: now };
function task(i: number): Task {
  return {
    id: `task_${i}`, projectId: project.id, parentId: null, title: `Task ${i}`, description: 'Do the thing '.repeat(10),
    status: 'in_progress', sessionStatus: 'working', priority: 'medium', createdAt: now, updatedAt: now, startedAt: now,
    completedAt: null, initialPrompt: '', sessionIds: ['sess_1'], skillIds: [], agentIds: [], dependencies: [],
  } as Task;
}
function session(timeline: number): Session {
  const entries: SessionTimelineEvent[] = Array.from({ length: timeline }, (_, i) => ({ id: `evt_${i}`, type: 'progress', timestamp: now + i, message: `step ${i} done` }));
  return {
    id: 'sess_1', projectId: project.id, taskIds: ['task_1'], name: 'Worker for task_1', env: { MAESTRO_SESSION_ID: 'sess_1' },
    strategy: 'simple', status: 'working', startedAt: now, lastActivity: now, completedAt: null, hostname: 'h', platform: 'linux',
    events: [], timeline: entries, metadata: {},
  } as Session;
}
const queue: QueueState = {
  sessionId: 'sess_1', strategy: 'queue', currentIndex: -1, createdAt: now, updatedAt: now,
  items: Array.from({ length: 100 }, (_, i) => ({ taskId: `task_${i}`, status: 'queued', addedAt: now })),
} as unknown as QueueState;

const kinds: Array<[string, HubEvent]> = [
  ['task:session_added {taskId, sessionId}', { name: 'task:session_added', data: { taskId: 'task_1', sessionId: 'sess_1' } }],
  ['project:updated (Project)', { name: 'project:updated', data: project }],
  ['task:updated (Task)', { name: 'task:updated', data: task(1) }],
  ['session:updated, 10 timeline entries', { name: 'session:updated', data: session(10) }],
  ['session:updated, 1000 timeline entries', { name: 'session:updated', data: session(1000) }],
  ['queue:updated, 100 items', { name: 'queue:updated', data: { sessionId: 'sess_1', queue } }],
];

function perEvent(fn: () => void, minMs = 300): number {
  for (let i = 0; i < 200; i++) fn();
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
    t = performance.now();
  }
  return ((t - t0) * 1000) / n;
}

console.log('| payload | validate µs | stringify + frame µs | bytes |');
console.log('|---|---:|---:|---:|');
for (const [label, ev] of kinds) {
  validateAgainstCatalogue(ev); // throws if the sample is off-spec: then the numbers would measure a failure path
  const v = perEvent(() => validateAgainstCatalogue(ev));
  const bytes = Buffer.byteLength(JSON.stringify({ type: ev.name, event: ev.name, data: ev.data, timestamp: now }));
  const s = perEvent(() => textFrame(Buffer.from(JSON.stringify({ type: ev.name, event: ev.name, data: ev.data, timestamp: now }), 'utf8')));
  console.log(`| ${label} | ${v.toFixed(2)} | ${s.toFixed(2)} | ${bytes} |`);
}

// 2. broadcast() with real clients: one hub, one set of clients; the validation hook is switched per round.
const server = http.createServer();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as { port: number }).port;
let validating = false;
const hub = new EventHub({
  logger: silentLogger(),
  corsPolicy: createCorsPolicy({ origins: null, credentials: false }),
  hostGuard: true,
  heartbeatMs: 0,
  validate: (ev) => {
    if (validating) validateAgainstCatalogue(ev);
  },
});
hub.attach(server);
const clients = await Promise.all(
  Array.from(
    { length: clientsWanted },
    () =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
        ws.once('open', () => resolve(ws));
        ws.once('error', reject);
      }),
  ),
);
while (hub.size < clientsWanted) await new Promise((r) => setTimeout(r, 5));
let received = 0;
for (const ws of clients) ws.on('message', () => received++);

const stream: HubEvent[] = [
  { name: 'task:updated', data: task(1) },
  { name: 'queue:updated', data: { sessionId: 'sess_1', queue } },
  { name: 'session:updated', data: session(10) },
  { name: 'task:session_added', data: { taskId: 'task_1', sessionId: 'sess_1' } },
];
async function round(validate: boolean, events: number): Promise<number> {
  validating = validate;
  let cpu = 0;
  for (let i = 0; i < events; i++) {
    const t0 = performance.now();
    hub.broadcast([stream[i % stream.length]!]);
    cpu += performance.now() - t0;
    if (i % 20 === 19) await new Promise((r) => setImmediate(r)); // let the sockets drain
  }
  return (cpu * 1000) / events;
}
const results: Record<'on' | 'off', number[]> = { on: [], off: [] };
const ROUNDS = 10;
for (let r = 0; r < ROUNDS; r++) {
  for (const mode of r % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) results[mode].push(await round(mode === 'on', 2000));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log('');
console.log(`broadcast() to ${clientsWanted} real clients, µs per event (median of ${ROUNDS} alternating rounds × 2000 events; rounds: off ${results.off.map((x) => x.toFixed(0)).join('/')}, on ${results.on.map((x) => x.toFixed(0)).join('/')})`);
console.log(`  without validation: ${median(results.off).toFixed(1)} µs   with validation: ${median(results.on).toFixed(1)} µs   invalid: ${hub.invalidEvents}   frames received: ${received}`);
for (const ws of clients) ws.terminate();
await hub.close(100);
server.close();
