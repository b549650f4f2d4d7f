/**
 * Compile-only: what a TypeScript user of `maestro-server/client` gets, checked by `tsc -p .` in this package with
 * browser libs only (lib DOM, no @types/node). Each `@ts-expect-error` proves a mistake is a type error.
 */
import { ApiError, createClient, subscribe, type ErrorCodeOf, type RequestBodyOf, type ResponseOf } from 'maestro-server/client';

const client = createClient({ baseUrl: 'http://127.0.0.1:3000', token: 'optional' });

export async function typedUse(): Promise<string[]> {
  const task = await client.getTask({ params: { id: 'task_1' } });
  const title: string = task.title;
  const status: 'todo' | 'in_progress' | 'completed' | 'cancelled' | 'blocked' = task.status;
  // @ts-expect-error a Task has no such field
  void task.nope;
  // @ts-expect-error priority is an enum of the spec
  await client.createTask({ body: { projectId: 'p', title: 't', priority: 'urgent' } });
  // @ts-expect-error the path parameter is required
  await client.getTask({ params: {} });
  const body: RequestBodyOf<'createProject'> = { name: 'n', workingDir: '/tmp' };
  const project: ResponseOf<'createProject'> = await client.createProject({ body });
  try {
    await client.deleteProject({ params: { id: project.id } });
  } catch (err) {
    if (err instanceof ApiError) {
      const code: string = err.code;
      return [code, title, status];
    }
  }
  const documented: ErrorCodeOf<'getTask'> = 'TASK_NOT_FOUND';
  // @ts-expect-error not a code getTask documents
  const undocumented: ErrorCodeOf<'getTask'> = 'PROJECT_NOT_FOUND';

  const subscription = subscribe({ url: 'http://127.0.0.1:3000', reconnect: { initialDelayMs: 500, maxDelayMs: 10_000 } });
  subscription.on('task:created', (created, envelope) => {
    const t: string = created.title;
    const name: 'task:created' = envelope.event;
    void [t, name];
  });
  // @ts-expect-error not an event of the spec
  subscription.on('task:nope', () => undefined);
  subscription.onOpen((info) => {
    if (info.reconnected) void client.listTasks({ query: { projectId: project.id } });
  });
  subscription.close();
  return [documented, undocumented];
}
