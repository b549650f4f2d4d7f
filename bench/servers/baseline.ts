/**
 * The same-run baselines of issue 7. Run as a child process:
 *   node --import tsx bench/servers/baseline.ts express|node|durable
 * Prints `ready` on stdout once listening on PORT.
 *
 * - `express`, `node`: `GET /api/tasks/:id` answered from memory with the same Task JSON our server returns
 *   (env BENCH_TASK_FILE), by a bare Express 5 app and by raw node:http. The Express app has the same two app
 *   settings as ours (src/app.ts: no X-Powered-By, no ETag), so that the difference to our server is our own
 *   layers (guards, request log, router, handler, store).
 * - `durable`: the disk's share of a durable mutation. raw node:http; `POST /write/{folder}` writes the request
 *   body to a new file `{folder}/{n}.json` under BENCH_WRITE_DIR with docs/behaviour.md's write protocol (§5.4: temp
 *   file, fsync, rename, fsync the folder) and answers 201 with the body. No validation, no state, no events,
 *   no batching: what one durable file write per request costs on this machine's disk.
 */
import fs from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import express from 'express';

const kind = process.argv[2];
const port = Number(process.env.PORT);
const task = kind === 'durable' ? { id: '' } : (JSON.parse(fs.readFileSync(process.env.BENCH_TASK_FILE!, 'utf8')) as { id: string });
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
} else if (kind === 'durable') {
  const root = process.env.BENCH_WRITE_DIR!;
  const prefix = '/write/';
  const knownDirs = new Set<string>();
  let next = 0;
  const writeDurable = async (folder: string, text: string): Promise<void> => {
    const dir = path.join(root, folder);
    if (!knownDirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      knownDirs.add(dir);
    }
    const name = `${next++}.json`;
    const tmp = path.join(dir, `.${name}.${process.pid}.tmp`);
    const file = await open(tmp, 'wx', 0o644);
    try {
      await file.writeFile(text, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path.join(dir, name));
    const folderHandle = await open(dir, 'r');
    try {
      await folderHandle.sync();
    } finally {
      await folderHandle.close();
    }
  };
  server = http.createServer((req, res) => {
    const url = req.url ?? '';
    const folder = url.slice(prefix.length);
    if (req.method !== 'POST' || !url.startsWith(prefix) || !/^[\w-]+$/.test(folder)) {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      writeDurable(folder, text).then(
        () => {
          res.writeHead(201, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
          res.end(text);
        },
        (err: Error) => {
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end(err.message);
        },
      );
    });
  });
} else {
  throw new Error(`usage: baseline.ts express|node|durable (got ${kind})`);
}
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
