// Runtime use of `maestro-server/client` from a separate package: plain Node ESM, the global fetch and the
// global WebSocket (`node --experimental-websocket` on Node 20). Prints one JSON line of what it saw.
import { ApiError, createClient, subscribe } from 'maestro-server/client';

const url = process.argv[2];
const client = createClient({ baseUrl: url });
const subscription = subscribe({ url });
await subscription.ready;
const seen = new Promise((resolve) => subscription.on('project:created', (project) => resolve(project)));
const project = await client.createProject({ body: { name: 'From a package' } });
const event = await seen;
let error;
try {
  await client.getProject({ params: { id: 'missing' } });
} catch (err) {
  error = err;
}
subscription.close();
console.log(
  JSON.stringify({
    resolved: import.meta.resolve('maestro-server/client'),
    project,
    event,
    error: { isApiError: error instanceof ApiError, status: error.status, code: error.code, message: error.message },
  }),
);
