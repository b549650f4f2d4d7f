/**
 * Type-level test of the typed event path (src/store/api.ts `Tx.emit`/`Tx.emitEvent`, `StoreEvent`, and the
 * hub's `HubEvent`). It is not run by vitest (no `.test.ts`): `npm run build` (tsc over src/, test/, …) checks
 * it. Every `@ts-expect-error` line must be a type error; should one of them compile, tsc reports the unused
 * directive and the build fails. Nothing here is executed.
 */
import type { IdPayload, Project, QueueItem, QueueState, Session, Task } from '../../generated/types/index.js';
import type { StoreEvent, Tx } from '../../src/store/index.js';
import type { HubEvent } from '../../src/ws/hub.js';

declare const tx: Tx;
declare const project: Project;
declare const task: Task;
declare const session: Session;
declare const item: QueueItem;
declare const queue: QueueState;

// Accepted: names of the catalogue, each with exactly its own payload type.
tx.emit('project:created', project);
tx.emit('task:updated', task);
tx.emit('task:deleted', { id: task.id });
tx.emit('session:updated', session);
tx.emit('task:session_added', { taskId: task.id, sessionId: session.id });
tx.emit('queue:updated', { sessionId: session.id, queue });
tx.emit('queue:item_failed', { sessionId: session.id, item, reason: null });
tx.emit('queue:item_failed', { sessionId: session.id, item, reason: 'flaky' });

// A wrong name: not in the catalogue, a near miss, or a plain string.
// @ts-expect-error 'task:exploded' is not an event of spec/asyncapi.yaml
tx.emit('task:exploded', { id: task.id });
// @ts-expect-error event names are exact ('task:session_added', not the old 'task:sessionAdded')
tx.emit('task:sessionAdded', { taskId: task.id, sessionId: session.id });
// @ts-expect-error a string that is not known to be a catalogue name
tx.emit(String('task:deleted'), { id: task.id });

// A wrong payload for a valid name.
// @ts-expect-error task:created carries a Task, not a Project
tx.emit('task:created', project);
// (Not caught by types: a *variable* of a wider type, e.g. `tx.emit('project:deleted', project)`, since
// TypeScript has no exact object types and a Project has an `id`. The hub's run-time check refuses it.)
// @ts-expect-error a field of the wrong type
tx.emit('project:deleted', { id: 42 });
// @ts-expect-error an unknown key (the payload schemas have additionalProperties: false)
tx.emit('task:deleted', { id: task.id, title: task.title });
// @ts-expect-error queue:item_failed needs `reason` (string or null)
tx.emit('queue:item_failed', { sessionId: session.id, item });
// @ts-expect-error queue:item_started has no `reason`
tx.emit('queue:item_started', { sessionId: session.id, item, reason: null });
// @ts-expect-error queue:updated carries the whole queue
tx.emit('queue:updated', { sessionId: session.id, item });
// @ts-expect-error no payload
tx.emit('template:deleted');
// @ts-expect-error null is no payload
tx.emit('template:deleted', null);
// @ts-expect-error session:spawn carries a SpawnRequestEvent, not a bare session
tx.emit('session:spawn', session);

// A name chosen at run time: the payload must be valid for every name it can be, never for just one of them.
declare const createdName: 'task:created' | 'project:created';
// @ts-expect-error a Task is no Project
tx.emit(createdName, task);
declare const itemName: 'queue:item_started' | 'queue:item_completed' | 'queue:item_skipped';
tx.emit(itemName, { sessionId: session.id, item }); // all three carry {sessionId, item}
declare const anyItemName: 'queue:item_started' | 'queue:item_failed';
// @ts-expect-error queue:item_failed would lack its `reason`
tx.emit(anyItemName, { sessionId: session.id, item });

// Prebuilt events (LINK/UNLINK pairs, spawn's per-task events): StoreEvent is a discriminated union.
const linkPair: StoreEvent[] = [
  { name: 'session:task_added', data: { sessionId: session.id, taskId: task.id } },
  { name: 'task:session_added', data: { taskId: task.id, sessionId: session.id } },
];
for (const event of linkPair) tx.emitEvent(event);
// @ts-expect-error an event built with another event's payload
tx.emitEvent({ name: 'task:updated', data: project });
// @ts-expect-error a name outside the catalogue
tx.emitEvent({ name: 'bogus:event', data: {} });
// @ts-expect-error `emit` takes a name and a payload; a prebuilt event's parts are not correlated any more
for (const event of linkPair) tx.emit(event.name, event.data);

// The store hands its events to the hub unchanged; the hub takes nothing else.
declare const committed: readonly StoreEvent[];
export const toHub: readonly HubEvent[] = committed;
// @ts-expect-error the hub takes only catalogue events
export const bogusHubEvent: HubEvent = { name: 'bogus:event', data: {} };
// @ts-expect-error … each with its payload type
export const wrongHubPayload: HubEvent = { name: 'session:updated', data: task };
export const idPayload: IdPayload = { id: 'x' };
