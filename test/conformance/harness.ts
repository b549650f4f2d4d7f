/**
 * The conformance harness: a keep-alive HTTP client for a running server, an independent response checker
 * (documented status, JSON content type, body valid against the spec, error format of docs/behaviour.md §3.1 with a documented
 * code), a WebSocket recorder that checks every broadcast against the AsyncAPI catalogue, and coverage.
 */
import { rawRequest } from '../support/http.js';
import http from 'node:http';
import { WebSocket } from 'ws';
import { Coverage } from './coverage.js';
import { oracle, ORACLE_ID_HEADER, type Oracle } from './oracle.js';
import { errorsText, loadSpecModel, type OperationSpec, type SpecModel } from './spec-model.js';

export const JSON_CT = 'application/json; charset=utf-8';
export const EVENT_DEADLINE_MS = 100;

export interface SendOptions {
  /** Path with parameters already substituted (and query, if any). Default: the operation's path. */
  path?: string;
  /** A JSON value to send (serialised, Content-Type application/json). */
  json?: unknown;
  /** A raw body, sent as is (set the Content-Type yourself in `headers`). */
  raw?: string | Buffer;
  headers?: Record<string, string>;
  /**
   * Set when the suite expects a 4xx for this request (the label says why, e.g. `expected 400
   * VALIDATION_ERROR`, `fuzz schema-invalid`); unset means the suite sends it as a valid request, which the
   * second oracle (oracle.ts) must then accept.
   */
  expectReject?: string;
  /**
   * With `expectReject`: the suite's own reading of the spec finds the request itself invalid (its body breaks
   * the schema, is not JSON, a path parameter breaks its enum, …), so the second oracle must reject it too.
   */
  specInvalid?: boolean;
}

export interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any;
  /** The second oracle's id of this exchange (oracle.ts). */
  oracleId?: number;
}

export interface Envelope {
  type: string;
  event: string;
  data: any;
  timestamp: number;
}

export class ConformanceError extends Error {}

/**
 * One running server under test: its port, a keep-alive agent and (optionally) a token. Every request goes
 * through the second oracle's proxy in front of the server (oracle.ts), which forwards it unchanged, checks
 * request and response with express-openapi-validator, and returns the server's answer unchanged.
 */
export class Target {
  readonly agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  private front: ReturnType<Oracle['front']> | undefined;
  constructor(
    readonly name: string,
    readonly port: number,
    readonly token?: string,
  ) {}

  async request(method: string, urlPath: string, body: string | Buffer | undefined, headers: Record<string, string>): Promise<Res> {
    const h: Record<string, string | number> = { ...headers };
    if (this.token && !Object.keys(h).some((k) => k.toLowerCase() === 'authorization')) h.Authorization = `Bearer ${this.token}`;
    if (body !== undefined) h['Content-Length'] = Buffer.byteLength(body);
    const front = await (this.front ??= oracle.front(this.port));
    const oracleId = oracle.newId();
    h[ORACLE_ID_HEADER] = String(oracleId);
    const res = (await rawRequest(front.port, method, urlPath, { headers: h, body, agent: this.agent })) as Res;
    return { ...res, oracleId };
  }

  close(): void {
    this.agent.destroy();
    void this.front?.then((f) => f.close());
  }
}

/** A shell command that reproduces a request (printed with every failure). */
export function curlFor(target: Target, method: string, urlPath: string, headers: Record<string, string>, body?: string | Buffer): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const parts = ['curl', '-sS', '-i', '-X', method, q(`http://127.0.0.1:${target.port}${urlPath}`)];
  for (const [k, v] of Object.entries(headers)) parts.push('-H', q(`${k}: ${v}`));
  if (target.token) parts.push('-H', q(`Authorization: Bearer ${target.token}`));
  if (body !== undefined) {
    const text = Buffer.isBuffer(body) ? body.toString('utf8') : body;
    parts.push('--data-binary', text.length > 2000 ? `@<(head -c ${Buffer.byteLength(body)} /dev/zero | tr '\\0' 'x')` : q(text));
  }
  return parts.join(' ');
}

/** Records every broadcast on one WebSocket client; `fence()` returns everything up to now, exactly. */
export class EventRecorder {
  private buffer: Envelope[] = [];
  private pongWaiters: Array<() => void> = [];
  readonly problems: string[] = [];

  private constructor(
    private readonly ws: WebSocket,
    private readonly spec: SpecModel,
    private readonly coverage: Coverage,
  ) {
    ws.on('message', (raw) => {
      let msg: any;
      try {
        msg = JSON.parse(String(raw));
      } catch {
        this.problems.push(`non-JSON frame: ${String(raw).slice(0, 200)}`);
        return;
      }
      if (msg && msg.type === 'pong' && !('event' in msg)) {
        if (!this.spec.pongValidator(msg)) this.problems.push(`pong invalid: ${errorsText(this.spec.pongValidator)}`);
        this.pongWaiters.shift()?.();
        return;
      }
      const name = String(msg?.event);
      const validate = this.spec.eventValidators.get(name);
      if (!validate) this.problems.push(`undocumented event ${JSON.stringify(msg).slice(0, 300)}`);
      else if (!validate(msg)) this.problems.push(`${name} payload invalid against AsyncAPI: ${errorsText(validate)}`);
      else this.coverage.event(name);
      // Delivery bound (issue 5: within 100 ms): broadcast stamp → arrival, same machine, same clock.
      const late = Date.now() - Number(msg?.timestamp);
      if (late > EVENT_DEADLINE_MS) this.problems.push(`${name} arrived ${late} ms after its broadcast (limit ${EVENT_DEADLINE_MS} ms)`);
      this.buffer.push(msg as Envelope);
    });
  }

  static open(port: number, spec: SpecModel, coverage: Coverage, token?: string): Promise<EventRecorder> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, token ? { headers: { Authorization: `Bearer ${token}` } } : {});
      ws.once('open', () => resolve(new EventRecorder(ws, spec, coverage)));
      ws.once('error', reject);
    });
  }

  /**
   * Every broadcast received up to now. Events of a request are broadcast before its response (docs/behaviour.md
   * §4.5 #1), so after the response a ping's pong arrives behind all of them on the same socket: no sleeps.
   * Each event must have arrived within EVENT_DEADLINE_MS of its broadcast `timestamp`.
   */
  async fence(): Promise<Envelope[]> {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ConformanceError('no pong within 2 s')), 2000);
      this.pongWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.ws.send(JSON.stringify({ type: 'ping' }));
    });
    const out = this.buffer;
    this.buffer = [];
    if (this.problems.length > 0) {
      const p = this.problems.splice(0);
      throw new ConformanceError(`WebSocket: ${p.join('\n')}`);
    }
    return out;
  }

  close(): void {
    this.ws.close();
  }
}

export interface Sent {
  op: OperationSpec;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  res: Res;
  curl: string;
}

/** Checks one response against the operation's documentation; returns the problems (empty when conforming). */
export function responseProblems(spec: SpecModel, op: OperationSpec, res: Res, method: string): string[] {
  const problems: string[] = [];
  const status = String(res.status);
  const doc = op.responses.get(status);
  if (!doc) return [`status ${status} is not documented for ${op.operationId} (documented: ${[...op.responses.keys()].join(', ')}); body ${res.text.slice(0, 300)}`];
  if (method === 'HEAD') return problems;
  if (res.headers['content-type'] !== JSON_CT) problems.push(`content-type ${String(res.headers['content-type'])} (want ${JSON_CT})`);
  if (res.json === undefined) problems.push(`body is not JSON: ${res.text.slice(0, 200)}`);
  const validate = spec.responseValidator(op.operationId, status);
  if (!validate) problems.push(`no schema for ${op.operationId} ${status}`);
  else if (!validate(res.json)) problems.push(`body invalid against the spec: ${errorsText(validate)}; body ${res.text.slice(0, 500)}`);
  if (res.status >= 400) {
    const body = res.json ?? {};
    if (body.error !== true || typeof body.code !== 'string' || typeof body.message !== 'string') problems.push(`not an error body as in docs/behaviour.md §3.1: ${res.text.slice(0, 300)}`);
    const extra = Object.keys(body).filter((k) => !['error', 'code', 'message', 'details'].includes(k));
    if (extra.length > 0) problems.push(`error body has undocumented keys ${extra.join(', ')}`);
    if (doc.codes && !doc.codes.includes(body.code)) problems.push(`code ${body.code} not documented for ${op.operationId} ${status} (${doc.codes.join(', ')})`);
    if (body.code === 'VALIDATION_ERROR' && body.details !== undefined && typeof body.details.field !== 'string') problems.push(`VALIDATION_ERROR details without field`);
    if (body.code !== 'VALIDATION_ERROR' && body.code !== 'task_not_found' && body.details !== undefined) problems.push(`details on ${body.code}`);
  }
  if (status === '401' && res.headers['www-authenticate'] !== 'Bearer') problems.push(`401 without WWW-Authenticate: Bearer`);
  return problems;
}

/** The suite's shared state: spec, coverage, and the `send` that checks every response it gets. */
export class Conformance {
  readonly spec = loadSpecModel();
  readonly coverage = new Coverage(this.spec);
  readonly oracle = oracle;
  requests = 0;

  op(operationId: string): OperationSpec {
    const op = this.spec.byId.get(operationId);
    if (!op) throw new Error(`no operation ${operationId} in the spec`);
    return op;
  }

  /** `/api/sessions/{id}/tasks/{taskId}` with `{id: 'a b'}` → `/api/sessions/a%20b/tasks/…`. */
  pathOf(operationId: string, params: Record<string, string> = {}, query?: Record<string, string>): string {
    let p = this.op(operationId).path.replace(/\{(\w+)\}/g, (_m, name: string) => {
      const v = params[name];
      if (v === undefined) throw new Error(`${operationId}: missing path parameter ${name}`);
      return encodeURIComponent(v);
    });
    if (query && Object.keys(query).length > 0) p += `?${new URLSearchParams(query).toString()}`;
    return p;
  }

  /** Sends a request for `operationId` and checks the response against the spec (throws on any problem). */
  async send(target: Target, operationId: string, options: SendOptions = {}, context = ''): Promise<Sent> {
    const op = this.op(operationId);
    const method = op.method;
    const urlPath = options.path ?? op.path;
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    let body: string | Buffer | undefined = options.raw;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
    }
    const res = await target.request(method, urlPath, body, headers);
    this.requests++;
    const curl = curlFor(target, method, urlPath, headers, body);
    this.oracle.judge(res.oracleId!, { operationId, ...(options.expectReject !== undefined ? { expectReject: options.expectReject, specInvalid: options.specInvalid === true } : {}), curl });
    const problems = responseProblems(this.spec, op, res, method);
    if (problems.length > 0) {
      throw new ConformanceError(`${operationId} ${method} ${urlPath} → ${res.status}${context ? ` [${context}]` : ''}\n  ${problems.join('\n  ')}\n  reproduce: ${curl}`);
    }
    this.coverage.hit(operationId, res.status);
    return { op, method, path: urlPath, headers, body, res, curl };
  }
}

/** Fails with `message` (and the reproduction) unless `cond`. */
export function must(cond: unknown, message: string, sent?: Sent, extra = ''): asserts cond {
  if (!cond) {
    throw new ConformanceError(`${message}${sent ? `\n  got ${sent.res.status} ${sent.res.text.slice(0, 400)}\n  reproduce: ${sent.curl}` : ''}${extra ? `\n  ${extra}` : ''}`);
  }
}
