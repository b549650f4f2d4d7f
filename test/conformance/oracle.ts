/**
 * The second oracle (docs/conformance.md, "Second oracle"): express-openapi-validator, an implementation of
 * OpenAPI request and response validation that shares nothing with our codegen, our generated validators or
 * the suite's own Ajv reading of the spec (spec-model.ts).
 *
 * It sits in front of every server under test as a small HTTP proxy on its own port (one per Target):
 *
 *   suite ──HTTP──▶ oracle proxy (express + express-openapi-validator) ──HTTP──▶ server under test
 *
 * For each request the proxy
 *   1. reads the raw request bytes and lets express-openapi-validator judge the request (recorded, never
 *      answered: the proxy does not answer for the server);
 *   2. forwards method, path with query, headers (raw, in order, case kept) and body bytes unchanged;
 *   3. lets express-openapi-validator judge the server's response (status, content type, body);
 *   4. returns the server's status line, raw headers and body bytes unchanged.
 *
 * The suite (harness.ts) tells the oracle, per request, whether it sent the request as valid or expects a 4xx;
 * `Oracle.judge` turns each exchange into counts and failures, and the last conformance test asserts them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { middleware as openApiValidator } from 'express-openapi-validator';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from './spec-model.js';

/** Correlation header: set by the suite's client, removed by the proxy before anything else sees the request. */
export const ORACLE_ID_HEADER = 'x-conformance-oracle-id';

// ---------------------------------------------------------------------------------------------------------
// The document express-openapi-validator reads
// ---------------------------------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

const SCHEMAS_DIR = path.join(repoRoot, 'schemas');
/** schemas/entities/project.json → `entities.project` (a legal component name: [A-Za-z0-9._-]). */
const componentName = (file: string) => path.relative(SCHEMAS_DIR, file).replace(/\.json$/, '').split(path.sep).join('.');

/**
 * spec/openapi.yaml as one self-contained OpenAPI 3.1 document, built in memory (nothing is written):
 * every schema file of schemas/ becomes `components.schemas.<dir>.<name>`, every `$ref` to a file (from the
 * spec, relative to spec/, or from a schema file, relative to that file) becomes `#/components/schemas/<dir>.<name>`,
 * and the schema files' root `$id` and `$schema` are dropped. Nothing else changes: `type: [x, "null"]`,
 * 2020-12 keywords (`if`/`then`/`else`, `const`, …) and `x-` annotations stay as they are.
 *
 * Why: express-openapi-validator reading spec/openapi.yaml directly (its own json-schema-ref-parser,
 * `bundle` or `dereference` mode) fails on the first request with Ajv's «reference
 * "https://maestro.local/schemas/…" resolves to more than one schema»: the resolved document holds several
 * copies of a schema file, each with its `$id`, and every validator it compiles embeds `components` and
 * `paths`. Without the `$id`s (their only job was to be the base of the relative file refs, which are all
 * rewritten) the document loads, passes the validator's own OpenAPI 3.1 document check, and compiles.
 */
export function oracleDocument(): JsonObject {
  const rewrite = (node: Json, baseDir: string): Json => {
    if (Array.isArray(node)) return node.map((n) => rewrite(n, baseDir));
    if (!isObject(node)) return node;
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string' && !v.startsWith('#')) {
        const [file, fragment] = v.split('#');
        const target = path.resolve(baseDir, file!);
        if (!target.startsWith(SCHEMAS_DIR + path.sep) || !target.endsWith('.json')) throw new Error(`oracle: unexpected $ref ${v} in ${baseDir}`);
        out.$ref = `#/components/schemas/${componentName(target)}${fragment ?? ''}`;
      } else {
        out[k] = rewrite(v, baseDir);
      }
    }
    return out;
  };
  const doc = rewrite(parseYaml(readFileSync(path.join(repoRoot, 'spec', 'openapi.yaml'), 'utf8')) as Json, path.join(repoRoot, 'spec')) as JsonObject;
  const components = (doc.components ??= {}) as JsonObject;
  const schemas = (components.schemas ??= {}) as JsonObject;
  for (const entry of readdirSync(SCHEMAS_DIR, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.json')) continue;
    const file = path.join(entry.parentPath, entry.name);
    const { $id: _id, $schema: _schema, ...schema } = JSON.parse(readFileSync(file, 'utf8')) as JsonObject;
    const name = componentName(file);
    if (name in schemas) throw new Error(`oracle: component name ${name} taken twice`);
    schemas[name] = rewrite(schema, path.dirname(file));
  }
  // Every rewritten reference must name a component that exists.
  const check = (node: Json): void => {
    if (Array.isArray(node)) node.forEach(check);
    else if (isObject(node)) {
      const ref = node.$ref;
      if (typeof ref === 'string' && ref.startsWith('#/components/schemas/') && !(ref.slice('#/components/schemas/'.length).split('/')[0]! in schemas)) {
        throw new Error(`oracle: dangling $ref ${ref}`);
      }
      Object.values(node).forEach(check);
    }
  };
  check(doc);
  return doc;
}

// ---------------------------------------------------------------------------------------------------------
// The validator: two express-openapi-validator instances on one express app
// ---------------------------------------------------------------------------------------------------------

/**
 * express-openapi-validator validates a response by wrapping `res.json` (its "mung"), which by default lets
 * every status ≥ 500 through unchecked ("do not mung on errors"). The suite provokes documented 500s on
 * purpose, so they must be checked too: the mung's own `mungError` option does exactly that, and the
 * validator never passes it, so we default it to true. This is the only change to the package's behaviour.
 */
const require = createRequire(import.meta.url);
const mung = (require('express-openapi-validator/dist/framework/modded.express.mung.js') as { default: { json: (fn: unknown, options?: Record<string, unknown>) => RequestHandler } }).default;
if (!(mung.json as { oraclePatched?: boolean }).oraclePatched) {
  const original = mung.json;
  const patched = (fn: unknown, options?: Record<string, unknown>) => original(fn, { ...(options ?? {}), mungError: true });
  (patched as { oraclePatched?: boolean }).oraclePatched = true;
  mung.json = patched;
}

/** What the validator said about one request (the first error it raised), or nothing when it accepted it. */
export interface Rejection {
  /** `express-openapi-validator` or `json-parse` (the body-parser step in front of it). */
  by: 'express-openapi-validator' | 'json-parse';
  status: number;
  message: string;
  errors: Array<{ path: string; message: string }>;
}

/** One request/response pair as the proxy saw it. */
export interface Exchange {
  id: number;
  proxyPort: number;
  upstreamPort: number;
  method: string;
  url: string;
  requestHeaders: http.IncomingHttpHeaders;
  requestBody: Buffer;
  /** The body as the validator saw it (parsed JSON for JSON media types). */
  parsedBody: unknown;
  /** operationId express-openapi-validator matched for the request (undefined if it matched none). */
  operationId?: string;
  rejection?: Rejection;
  status?: number;
  /** express-openapi-validator really ran its response check (a documented response was selected and checked). */
  responseValidated: boolean;
  /** Its verdict when the response does not conform. */
  responseError?: string;
  /** Why the response could not be validated, when it was not. */
  notValidated?: string;
  /** A failure of the proxy itself (upstream unreachable, …): the suite's request then fails too. */
  proxyError?: string;
}

function errorOf(e: unknown, by: Rejection['by']): Rejection {
  const err = e as { status?: number; message?: string; errors?: Array<{ path?: string; message?: string }> };
  return {
    by,
    status: Number(err.status ?? 500),
    message: String(err.message ?? e),
    errors: (err.errors ?? []).map((x) => ({ path: String(x.path ?? ''), message: String(x.message ?? '') })),
  };
}

/** Runs an array of express middlewares in order; resolves with the error one of them raised, if any. */
function runChain(chain: RequestHandler[], req: Request, res: Response, late: (err: unknown) => void): Promise<unknown> {
  return new Promise((resolve) => {
    let i = 0;
    let done = false;
    const next: NextFunction = (err?: unknown) => {
      if (done) {
        // The response mung keeps the `next` of its installation and calls it with errors it does not
        // handle itself (anything but a validation failure): those arrive here, after the chain.
        if (err !== undefined) late(err);
        return;
      }
      if (err !== undefined && err !== 'route' && err !== 'router') {
        done = true;
        resolve(err);
        return;
      }
      const mw = chain[i++];
      if (!mw) {
        done = true;
        resolve(undefined);
        return;
      }
      try {
        const r = mw(req, res, next) as unknown;
        if (r instanceof Promise) r.catch(next);
      } catch (e) {
        next(e);
      }
    };
    next();
  });
}

/** `application/json` or `application/*+json`, case-insensitive, parameters ignored: the bodies we hand over parsed. */
function isJsonMediaType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[^/\s]+\+json$/.test(type);
}

/** `%ZZ` (an escape that does not decode) → `%25ZZ`, so that an operation can still be identified by its path. */
function decodablePath(url: string): string {
  const [p, ...q] = url.split('?');
  const fixed = p!.split('/').map((seg) => {
    try {
      decodeURIComponent(seg);
      return seg;
    } catch {
      return seg.replace(/%(?![0-9A-Fa-f]{2})/g, '%25').replace(/%([0-9A-Fa-f]{2})/g, (m) => {
        try {
          decodeURIComponent(m);
          return m;
        } catch {
          return `%25${m.slice(1)}`;
        }
      });
    }
  });
  return [fixed.join('/'), ...q].join('?');
}

/** The URL with one path segment's first character percent-encoded, last segment first: `/a/spawn` → `/a/%73pawn`. */
function templatedAlternatives(url: string): string[] {
  const [p, ...q] = url.split('?');
  const segs = p!.split('/');
  const out: string[] = [];
  for (let i = segs.length - 1; i > 0; i--) {
    const seg = segs[i]!;
    if (seg === '' || seg.startsWith('%') || seg.charCodeAt(0) > 0x7e) continue;
    const alt = [...segs];
    alt[i] = `%${seg.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}${seg.slice(1)}`;
    out.push([alt.join('/'), ...q].join('?'));
  }
  return out;
}

interface Upstream {
  status: number;
  statusMessage: string;
  rawHeaders: string[];
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function forward(agent: http.Agent, port: number, method: string, url: string, rawHeaders: string[], body: Buffer): Promise<Upstream> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const req = http.request({ host: '127.0.0.1', port, method, path: url, headers: rawHeaders as unknown as http.OutgoingHttpHeaders, agent, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => {
        if (!settled) reject(e);
        settled = true;
      });
      res.on('end', () => {
        settled = true;
        resolve({ status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', rawHeaders: res.rawHeaders, headers: res.headers, body: Buffer.concat(chunks) });
      });
    });
    // The server may answer (413, 415) before it has read the whole body; a write error after that is not ours.
    req.on('error', (e) => {
      if (!settled) {
        settled = true;
        reject(e);
      }
    });
    req.end(body.length > 0 ? body : undefined);
  });
}

function readAll(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

interface ProxyState {
  upstreamPort: number;
  proxyPort: number;
  agent: http.Agent;
  /** Receives every exchange before the server's answer is written back to the suite. */
  onExchange: (ex: Exchange) => void;
}

/** The validating express app, shared by all proxies (the validators load and compile once per process). */
function validatingApp(): express.Express {
  const apiSpec = oracleDocument();
  const requestCheck = openApiValidator({
    apiSpec: apiSpec as never,
    validateApiSpec: true,
    // The spec says of its query parameters "unknown parameters are ignored" (E6, E13); OpenAPI does not make
    // an undeclared query parameter invalid either. The package's default (reject them) is stricter than both.
    validateRequests: { allowUnknownQueryParameters: true },
    validateResponses: false,
    // The spec's security requirement is `[{}, {bearerAuth: []}]`: the anonymous alternative `{}` satisfies it
    // for every request, so the package's security check could never reject one; it is left out (speed).
    validateSecurity: false,
    fileUploader: false,
    validateFormats: true,
    ajvFormats: { mode: 'full' },
  }) as unknown as RequestHandler[];
  const responseCheck = openApiValidator({
    apiSpec: apiSpec as never,
    validateApiSpec: false,
    validateRequests: false,
    validateResponses: {
      onError: (err, _body, req) => {
        (req as Request & { oracleResponseError?: unknown }).oracleResponseError = err;
      },
    },
    validateSecurity: false,
    fileUploader: false,
    validateFormats: true,
    ajvFormats: { mode: 'full' },
  }) as unknown as RequestHandler[];

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');
  app.use(async (req: Request, res: Response) => {
    const state = (req as Request & { oracle: ProxyState }).oracle;
    const idRaw = req.headers[ORACLE_ID_HEADER];
    delete req.headers[ORACLE_ID_HEADER];
    const rawHeaders: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      if (req.rawHeaders[i]!.toLowerCase() !== ORACLE_ID_HEADER) rawHeaders.push(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
    }
    const ex: Exchange = {
      id: Number(idRaw ?? -1),
      proxyPort: state.proxyPort,
      upstreamPort: state.upstreamPort,
      method: req.method,
      url: req.originalUrl,
      requestHeaders: { ...req.headers },
      requestBody: Buffer.alloc(0),
      parsedBody: undefined,
      responseValidated: false,
    };
    try {
      ex.requestBody = await readAll(req);

      // 1. The request. A JSON body reaches the validator parsed, as an app's JSON body parser would hand it
      //    over (`express.json()`, but without its `strict` first-character check, so that a body that is JSON
      //    but not an object is judged by the validator against the spec); other bodies are not parsed.
      (req as { body?: unknown }).body = undefined;
      if (ex.requestBody.length > 0 && isJsonMediaType(req.headers['content-type'])) {
        try {
          ex.parsedBody = JSON.parse(ex.requestBody.toString('utf8'));
          (req as { body?: unknown }).body = ex.parsedBody;
        } catch (e) {
          ex.rejection = { by: 'json-parse', status: 400, message: `body is not JSON: ${(e as Error).message}`, errors: [] };
        }
      }
      if (!ex.rejection) {
        const err = await runChain(requestCheck, req, res, () => {});
        if (err !== undefined) ex.rejection = errorOf(err, 'express-openapi-validator');
      }
      const matched = (req as Request & { openapi?: { schema?: { operationId?: string } } }).openapi?.schema?.operationId;
      if (matched) ex.operationId = matched;

      // 2. The server's answer, for exactly the bytes the suite sent.
      const up = await forward(state.agent, state.upstreamPort, req.method, ex.url, rawHeaders, ex.requestBody);
      ex.status = up.status;

      // 3. The response. The validator wraps `res.json`; ours (installed first, so the validator's wrapper
      //    calls it once it has checked the body) writes the server's bytes unchanged.
      let written = false;
      const writeUpstream = () => {
        if (written) return;
        written = true;
        if (res.getHeaderNames().length > 0) throw new Error(`oracle: headers were set on the proxy's response: ${res.getHeaderNames().join(', ')}`);
        res.sendDate = false;
        res.writeHead(up.status, up.statusMessage, up.rawHeaders);
        res.end(up.body);
      };
      const own = Object.assign(function json(this: Response) {
        writeUpstream();
        return res;
      }, { oracle: true });
      (res as { json: unknown }).json = own;
      const r = req as Request & { openapi?: unknown; oracleResponseError?: unknown };
      delete r.openapi;
      // The response check keys its compiled validators by method, route and the *request's* Content-Type, which
      // plays no other part in it; the suite sends a dozen content types per operation, and each new key
      // compiles every response schema of the operation again. Shown without one, it compiles once per operation.
      delete req.headers['content-type'];
      r.oracleResponseError = undefined;
      req.originalUrl = decodablePath(ex.url);
      const lateErrors: unknown[] = [];
      let chainErr = await runChain(responseCheck, req, res, (e) => lateErrors.push(e));
      if ((chainErr as { status?: number } | undefined)?.status === 405) {
        // docs/behaviour.md §2.0.1 routes GET/PATCH/DELETE /api/sessions/spawn to the {id} operations; OpenAPI's matching
        // takes the concrete path /api/sessions/spawn (POST only). Shown the same URL with the colliding segment
        // percent-encoded (`%73pawn`), the validator picks the templated path, as docs/behaviour.md does.
        for (const alt of templatedAlternatives(req.originalUrl)) {
          delete r.openapi;
          req.originalUrl = alt;
          chainErr = await runChain(responseCheck, req, res, (e) => lateErrors.push(e));
          if (chainErr === undefined) break;
        }
      }
      const responseOperation = (req as Request & { openapi?: { schema?: { operationId?: string } } }).openapi?.schema?.operationId;
      if (chainErr !== undefined) {
        ex.notValidated = `express-openapi-validator found no operation for the response: ${errorOf(chainErr, 'express-openapi-validator').message}`;
      } else if (!responseOperation) {
        ex.notValidated = 'express-openapi-validator matched no operation for the response';
      } else if ((res as { json: unknown }).json === own) {
        ex.notValidated = 'express-openapi-validator installed no response check';
      } else {
        res.statusCode = up.status;
        // The validator reads the response's Content-Type through res.getHeaders(); it is shown the server's
        // without being stored on `res` (a stored header would make Node merge the server's raw headers).
        const contentType = up.headers['content-type'];
        (res as { getHeaders: () => http.OutgoingHttpHeaders }).getHeaders = () => (contentType === undefined ? {} : { 'content-type': contentType });
        let body: unknown;
        const text = up.body.toString('utf8');
        if (text !== '') {
          try {
            body = JSON.parse(text);
          } catch {
            body = text; // not JSON: the validator judges the text against the documented schema
          }
        }
        // The package says "assume valid" through console.warn when it cannot pick a schema: that is not a check.
        const warnings: string[] = [];
        const warn = console.warn;
        console.warn = (...args: unknown[]) => warnings.push(args.map(String).join(' '));
        try {
          (res as { json: (b: unknown) => unknown }).json(body);
        } finally {
          console.warn = warn;
          delete (res as { getHeaders?: unknown }).getHeaders;
        }
        const verdict = r.oracleResponseError ?? lateErrors[0];
        if (warnings.length > 0) ex.notValidated = `express-openapi-validator did not check the body: ${warnings.join('; ')}`;
        else if (lateErrors.length > 0) ex.notValidated = `express-openapi-validator failed: ${errorOf(lateErrors[0], 'express-openapi-validator').message}`;
        else ex.responseValidated = true;
        if (verdict !== undefined) {
          const e = errorOf(verdict, 'express-openapi-validator');
          ex.responseError = [e.message, ...e.errors.map((x) => `${x.path} ${x.message}`)].filter((x, i, a) => a.indexOf(x) === i).join('; ');
        }
        ex.operationId ??= responseOperation;
      }
      state.onExchange(ex);
      writeUpstream();
    } catch (e) {
      ex.proxyError = String((e as Error).stack ?? e);
      state.onExchange(ex);
      // Never answer for the server: the suite sees a broken connection and fails on it.
      res.destroy();
    }
  });
  return app;
}

// ---------------------------------------------------------------------------------------------------------
// The oracle: proxies, exchanges, judging, the summary line
// ---------------------------------------------------------------------------------------------------------

/** How the suite sent a request: as a valid one, or expecting a 4xx (with its own label for the expectation). */
export interface Expectation {
  operationId: string;
  /** Undefined: the suite sent the request as valid against the spec. Otherwise why it expects a 4xx. */
  expectReject?: string;
  /** The suite's own reading of the spec finds the request invalid: express-openapi-validator must agree. */
  specInvalid?: boolean;
  /** A reproduction command, printed with a failure. */
  curl: string;
}

/**
 * Reviewed disagreements between the spec (as express-openapi-validator reads it) and behaviour docs/behaviour.md
 * asks for on purpose. A request the suite sends as valid and the oracle rejects is a failure unless one of
 * these explains it; each entry counts its hits (printed with the summary).
 */
export interface Allowance {
  id: string;
  reason: string;
  matches(ex: Exchange, rejection: Rejection): boolean;
}

const mediaType = (ex: Exchange) => String(ex.requestHeaders['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();

export const ALLOWED_REQUEST_DISAGREEMENTS: Allowance[] = [
  {
    id: 'json-suffix-media-types',
    reason:
      'docs/behaviour.md §3.3: "JSON media types are application/json and application/*+json". Every requestBody of the spec lists ' +
      'application/json only (OpenAPI media type ranges are type/* and */*; there is none for the +json suffix), so ' +
      'express-openapi-validator answers 415 to a JSON body sent as e.g. application/merge-patch+json, which the server accepts.',
    matches: (ex, rej) => rej.status === 415 && /^application\/[^/\s]+\+json$/.test(mediaType(ex)),
  },
  {
    id: 'spawn-as-session-id',
    reason:
      'docs/behaviour.md §2.0.1: "GET, PATCH and DELETE /api/sessions/spawn address a session whose id is spawn". OpenAPI matches a ' +
      'concrete path before a templated one, so express-openapi-validator takes these for the path /api/sessions/spawn, ' +
      'which has only POST, and answers 405 (a status docs/behaviour.md never uses). The response is still checked, as ' +
      'getSession/updateSession/deleteSession (see templatedAlternatives).',
    matches: (ex, rej) => rej.status === 405 && ['GET', 'PATCH', 'DELETE'].includes(ex.method) && /^\/api\/sessions\/spawn(\?|$)/.test(ex.url),
  },
];

let sharedApp: express.Express | undefined;

export class Oracle {
  private nextId = 1;
  private readonly exchanges = new Map<number, Exchange>();
  private readonly servers = new Set<http.Server>();
  readonly failures: string[] = [];
  readonly allowedHits = new Map<string, number>();
  /** Requests the suite sent that the proxy saw; responses the suite received; responses the validator checked. */
  requests = 0;
  received = 0;
  responsesValidated = 0;
  expectedRejections = 0;
  unexpectedRejections = 0;
  /** Requests both the suite and the spec call invalid that express-openapi-validator nevertheless accepted. */
  missedRejections = 0;
  /** Of the expected rejections: requests the suite's own Ajv reading of the spec calls invalid (both oracles agree). */
  agreedInvalid = 0;
  /** Requests the suite expected a 4xx for that the spec (as the oracle reads it) does not forbid, by label. */
  readonly acceptedButExpected4xx = new Map<string, number>();

  constructor(readonly allowances: Allowance[] = ALLOWED_REQUEST_DISAGREEMENTS) {}

  private record(ex: Exchange): void {
    this.requests++;
    if (ex.responseValidated) this.responsesValidated++;
    this.exchanges.set(ex.id, ex);
  }

  /** A proxy in front of the server on `upstreamPort`, on its own port. */
  async front(upstreamPort: number): Promise<{ port: number; close: () => void }> {
    const app = (sharedApp ??= validatingApp());
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const state: ProxyState = { upstreamPort, proxyPort: 0, agent, onExchange: (ex) => this.record(ex) };
    const server = http.createServer((req, res) => {
      (req as http.IncomingMessage & { oracle: ProxyState }).oracle = state;
      app(req, res);
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    state.proxyPort = (server.address() as AddressInfo).port;
    this.servers.add(server);
    return {
      port: state.proxyPort,
      close: () => {
        agent.destroy();
        server.close();
        server.closeAllConnections();
        this.servers.delete(server);
      },
    };
  }

  newId(): number {
    return this.nextId++;
  }

  /** The exchange the proxy recorded for request `id` (recorded before the response was written back). */
  take(id: number): Exchange | undefined {
    const ex = this.exchanges.get(id);
    this.exchanges.delete(id);
    return ex;
  }

  /** Judges one exchange against how the suite sent it; problems go to `failures` (asserted at the end). */
  judge(id: number, expectation: Expectation): void {
    this.received++;
    const ex = this.take(id);
    const what = `${expectation.operationId} ${ex?.method ?? ''} ${ex?.url ?? ''}`;
    if (!ex) {
      this.failures.push(`${what}: the oracle proxy recorded no exchange for this request\n    reproduce: ${expectation.curl}`);
      return;
    }
    const where = `${what} → ${ex.status ?? 'no response'}`;
    if (ex.proxyError) this.failures.push(`${where}: proxy error ${ex.proxyError}`);
    if (ex.notValidated) this.failures.push(`${where}: response not validated: ${ex.notValidated}\n    reproduce: ${expectation.curl}`);
    if (ex.responseError) this.failures.push(`${where}: response rejected by express-openapi-validator: ${ex.responseError}\n    reproduce: ${expectation.curl}`);
    if (ex.operationId && ex.operationId !== expectation.operationId) {
      this.failures.push(`${where}: express-openapi-validator took this for operation ${ex.operationId}, the suite sent ${expectation.operationId}`);
    }
    const rej = ex.rejection;
    if (rej) {
      if (expectation.expectReject !== undefined) {
        this.expectedRejections++;
        if (expectation.specInvalid) this.agreedInvalid++;
        return;
      }
      const allowed = this.allowances.find((a) => a.matches(ex, rej));
      if (allowed) {
        this.allowedHits.set(allowed.id, (this.allowedHits.get(allowed.id) ?? 0) + 1);
        return;
      }
      this.unexpectedRejections++;
      this.failures.push(
        `${where}: a request the suite sent as valid was rejected by ${rej.by} (${rej.status}): ${rej.message}` +
          `${rej.errors.length > 0 ? ` [${rej.errors.map((e) => `${e.path} ${e.message}`).join('; ')}]` : ''}\n    reproduce: ${expectation.curl}`,
      );
    } else if (expectation.expectReject !== undefined) {
      const label = expectation.expectReject;
      if (expectation.specInvalid) {
        this.missedRejections++;
        this.failures.push(`${where}: the suite's own reading of the spec finds this request invalid (${label}), express-openapi-validator accepted it\n    reproduce: ${expectation.curl}`);
        return;
      }
      this.acceptedButExpected4xx.set(label, (this.acceptedButExpected4xx.get(label) ?? 0) + 1);
    }
  }

  summary(): string {
    return `oracle: ${this.requests} requests, ${this.responsesValidated} responses validated by express-openapi-validator, ${this.expectedRejections} expected request rejections, ${this.unexpectedRejections} unexpected`;
  }

  close(): void {
    for (const s of this.servers) {
      s.close();
      s.closeAllConnections();
    }
    this.servers.clear();
  }
}

/** The suite's oracle: every Target sends through a proxy of this one. */
export const oracle = new Oracle();
