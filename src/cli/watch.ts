/**
 * `maestro-api watch`: the reconnecting subscriber (src/client/subscribe.ts) printing one line per event on stdout
 * (the envelope as JSON with --json) and its connection state on stderr. `--event` keeps the events matching any
 * of its patterns (`task:*`); `--project-id` keeps the events about that project, its tasks and its sessions: the
 * ids of those are read over REST on every (re)connect — nothing is replayed after a gap (docs/behaviour.md §4.6),
 * so that is where the watch resumes — and learnt from the events themselves.
 * Runs until `stop` resolves (Ctrl-C). A first connection that fails ends it: exit 3, or 1 when the server
 * refused the upgrade (a bad token).
 */
import type { AnyEventEnvelope } from '../../generated/events/index.js';
import { EVENT_NAMES, type WebSocketConstructor } from '../../generated/client/events.js';
import { subscribe } from '../client/subscribe.js';
import { EXIT, UsageError } from './failures.js';
import { formatJson, type OutputStyle } from './output.js';

export interface WatchOptions {
  url: string;
  token: string | undefined;
  patterns: string[];
  projectId: string | undefined;
  json: boolean;
  WebSocket: WebSocketConstructor;
  style: OutputStyle;
  out(text: string): void;
  err(text: string): void;
  stop: Promise<void>;
  /** the ids of the tasks and sessions of a project, read over REST (src/cli/run.ts finds the list commands) */
  projectMembers(projectId: string): Promise<{ kind: string; ids: string[] }[]>;
}

/** `task:*` → every `task:` event; anything else is an exact name. Unknown patterns are usage errors. */
export function eventMatcher(patterns: string[]): (name: string) => boolean {
  const tests = patterns.map((pattern) => {
    const test = pattern.endsWith('*') ? (name: string) => name.startsWith(pattern.slice(0, -1)) : (name: string) => name === pattern;
    if (![...EVENT_NAMES].some(test)) {
      throw new UsageError(`option '--event' argument '${pattern}' matches no event; events are: ${[...EVENT_NAMES].join(', ')}`);
    }
    return test;
  });
  return tests.length === 0 ? () => true : (name) => tests.some((t) => t(name));
}

/** Decides whether an event is about one project, learning the ids of its tasks and sessions on the way. */
export class ProjectFilter {
  readonly tasks = new Set<string>();
  readonly sessions = new Set<string>();
  constructor(readonly projectId: string) {}

  matches(envelope: AnyEventEnvelope): boolean {
    const data = (envelope.data ?? {}) as unknown as Record<string, unknown>;
    const kind = envelope.event.slice(0, envelope.event.indexOf(':'));
    const id = typeof data.id === 'string' ? data.id : undefined;
    if (kind === 'project') return id === this.projectId;
    const session = data.session as { id?: unknown; projectId?: unknown } | undefined;
    if (data.projectId === this.projectId || session?.projectId === this.projectId) {
      if (kind === 'task' && id) this.tasks.add(id);
      if (kind === 'session' && id) this.sessions.add(id);
      if (typeof session?.id === 'string') this.sessions.add(session.id);
      return true;
    }
    if (id && ((kind === 'task' && this.tasks.has(id)) || (kind === 'session' && this.sessions.has(id)))) return true;
    return (
      (typeof data.taskId === 'string' && this.tasks.has(data.taskId)) ||
      (typeof data.sessionId === 'string' && this.sessions.has(data.sessionId))
    );
  }
}

function eventLine(envelope: AnyEventEnvelope, style: OutputStyle): string {
  const time = new Date(envelope.timestamp);
  const when = style.tty ? time.toLocaleTimeString() : time.toISOString();
  const data = JSON.stringify(envelope.data);
  const width = (style.columns !== undefined && style.columns > 0 ? style.columns : 120) - when.length - envelope.event.length - 2;
  const shown = style.tty && data.length > width ? `${data.slice(0, Math.max(10, width - 1))}…` : data;
  return `${when} ${envelope.event} ${shown}\n`;
}

function refusedStatus(error: Error | undefined): number | undefined {
  const match = /Unexpected server response: (\d+)/.exec(error?.message ?? '');
  return match ? Number(match[1]) : undefined;
}

export async function runWatch(options: WatchOptions): Promise<number> {
  const wanted = eventMatcher(options.patterns);
  const filter = options.projectId === undefined ? undefined : new ProjectFilter(options.projectId);
  const subscription = subscribe({ url: options.url, token: options.token, WebSocket: options.WebSocket });
  const wsUrl = options.url.replace(/^http/i, 'ws');

  const seed = async (): Promise<void> => {
    if (!filter) return;
    for (const { kind, ids } of await options.projectMembers(filter.projectId)) {
      for (const id of ids) (kind === 'task' ? filter.tasks : kind === 'session' ? filter.sessions : new Set<string>()).add(id);
    }
  };

  subscription.onAny((envelope) => {
    if (!wanted(envelope.event) || (filter && !filter.matches(envelope))) return;
    options.out(options.json ? formatJson(envelope, { tty: false }) : eventLine(envelope, options.style));
  });
  let everOpened = false;
  subscription.onOpen((info) => {
    everOpened = true;
    options.err(info.reconnected ? `reconnected to ${wsUrl} (events in between are not replayed)\n` : `connected to ${wsUrl}\n`);
    seed().catch((err: unknown) => options.err(`could not read the project's tasks and sessions: ${(err as Error).message}\n`));
  });

  const firstFailure = new Promise<number>((resolve) => {
    subscription.onClose((info) => {
      if (everOpened || subscription.state === 'closed') {
        if (info.retryInMs !== undefined) options.err(`connection lost (code ${info.code ?? 'none'}); reconnecting in ${Math.round(info.retryInMs / 1000)} s\n`);
        return;
      }
      // Never connected: the server is not there, or it refused us.
      const status = refusedStatus(info.error);
      if (status !== undefined) {
        const code = status === 401 ? 'UNAUTHORIZED' : status === 403 ? 'FORBIDDEN' : `HTTP_${status}`;
        options.err(`${code}: the server refused the WebSocket connection (${status})\n`);
        resolve(EXIT.apiError);
      } else {
        options.err(`error: cannot reach the server at ${wsUrl} (${info.error?.message ?? `closed with code ${info.code ?? 'none'}`})\n`);
        resolve(EXIT.unreachable);
      }
    });
  });
  subscription.ready.catch(() => undefined);
  const code = await Promise.race([options.stop.then(() => EXIT.ok), firstFailure]);
  subscription.close();
  return code;
}
