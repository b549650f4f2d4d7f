/**
 * The same-run baselines of issue 7: `GET /api/tasks/:id` answered from memory with the same Task JSON our
 * server returns, once with a bare Express 5 app and once with raw node:http. Run as a child process:
 *   node --import tsx bench/servers/baseline.ts express|node
 * Env: PORT, BENCH_TASK_FILE (the Task JSON). Prints `ready` on stdout once listening.
 *
 * The Express app has the same two app settings as ours (src/app.ts: no X-Powered-By, no ETag), so that the
 * difference to our server is our own layers (host guard, CORS, auth, request log, router, handler, store).
 */
import fs from 'node:fs';
import http from 'node:http';
import express from 'express';

const kind = process.argv[2];
const port = Number(process.env.PORT);
const task = JSON.parse(fs.readFileSync(process.env.BENCH_TASK_FILE!, 'utf8')) as { id: string };
const tasks = new Map([[task.id, task]]);
const NOT_FOUND = JSON.stringify({ error: true, code: 'TASK_NOT_FOUND', message: 'Task not found' });

let server: http.Server;
if (kind === 'express') {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.get('/api/tasks/:id', (req, res) => {
    const t = tasks.get(req.params.id);
    if (t === undefined) res.status(404).type('json').send(NOT_FOUND);
    else res.json(t);
  });
  server = http.createServer(app);
} else if (kind === 'node') {
  const prefix = '/api/tasks/';
  server = http.createServer((req, res) => {
    const url = req.url ?? '';
    const t = req.method === 'GET' && url.startsWith(prefix) ? tasks.get(decodeURIComponent(url.slice(prefix.length))) : undefined;
    const body = t === undefined ? NOT_FOUND : JSON.stringify(t);
    res.writeHead(t === undefined ? 404 : 200, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  });
} else {
  throw new Error(`usage: baseline.ts express|node (got ${kind})`);
}
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
