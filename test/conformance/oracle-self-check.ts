/**
 * Proof that the second oracle (oracle.ts) is live before the suite relies on it: a stand-in server on a real
 * port answers canned responses, a fresh Oracle proxy sits in front of it, and the check asserts that
 * express-openapi-validator flags what is wrong (a bad 200 body, a bad 500 body, an undocumented status, an
 * invalid body, malformed JSON, a malformed path), passes what is right, and that the proxy forwards the
 * request and returns the answer byte for byte without answering itself. Returns the problems found.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Oracle, ORACLE_ID_HEADER, type Exchange } from './oracle.js';

interface Canned {
  status: number;
  statusMessage?: string;
  rawHeaders: string[];
  body: string;
}

interface Seen {
  method: string;
  url: string;
  rawHeaders: string[];
  body: Buffer;
}

interface Got {
  status: number;
  statusMessage: string;
  rawHeaders: string[];
  body: Buffer;
}

const json = (status: number, body: string, extra: string[] = []): Canned => ({
  status,
  rawHeaders: ['Content-Type', 'application/json; charset=utf-8', ...extra, 'Content-Length', String(Buffer.byteLength(body))],
  body,
});

const PROJECT = '{"id":"proj_1732240000000_a7k2m9x4q", "name":"Self check","workingDir":"","description":"","createdAt":1732240000000,"updatedAt":1732240000000}';
const NOT_FOUND = '{"error":true,"code":"PROJECT_NOT_FOUND","message":"Project not found"}';

function send(port: number, method: string, url: string, headers: string[], body?: string): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: url, headers: headers as unknown as http.OutgoingHttpHeaders, agent: false, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, statusMessage: res.statusMessage!, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function oracleSelfCheck(): Promise<string[]> {
  const problems: string[] = [];
  const queue: Canned[] = [];
  const seen: Seen[] = [];
  const upstream = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks) });
      const c = queue.shift()!;
      res.sendDate = false;
      res.writeHead(c.status, c.statusMessage ?? http.STATUS_CODES[c.status] ?? 'X', c.rawHeaders);
      res.end(c.body);
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const upstreamPort = (upstream.address() as AddressInfo).port;
  const oracle = new Oracle([]);
  const front = await oracle.front(upstreamPort);

  /** The same request straight to the stand-in and through the proxy: what arrives and what comes back must be identical. */
  const exchange = async (name: string, canned: Canned, method: string, url: string, headers: string[], body?: string): Promise<Exchange | undefined> => {
    const base = ['Host', '127.0.0.1', 'Connection', 'close', ...headers, ...(body !== undefined ? ['Content-Length', String(Buffer.byteLength(body))] : [])];
    queue.push(canned);
    const direct = await send(upstreamPort, method, url, base, body);
    const directSeen = seen.pop()!;
    queue.push(canned);
    const id = oracle.newId();
    const proxied = await send(front.port, method, url, [...base, ORACLE_ID_HEADER, String(id)], body);
    const proxiedSeen = seen.pop();
    if (!proxiedSeen) {
      problems.push(`${name}: the request did not reach the server`);
      return undefined;
    }
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    if (proxiedSeen.method !== directSeen.method || proxiedSeen.url !== directSeen.url) problems.push(`${name}: forwarded ${proxiedSeen.method} ${proxiedSeen.url}, sent ${directSeen.method} ${directSeen.url}`);
    if (!same(proxiedSeen.rawHeaders, directSeen.rawHeaders)) problems.push(`${name}: forwarded headers ${JSON.stringify(proxiedSeen.rawHeaders)}, sent ${JSON.stringify(directSeen.rawHeaders)}`);
    if (!proxiedSeen.body.equals(directSeen.body)) problems.push(`${name}: forwarded body differs`);
    if (proxied.status !== direct.status || proxied.statusMessage !== direct.statusMessage) problems.push(`${name}: returned ${proxied.status} ${proxied.statusMessage}, server said ${direct.status} ${direct.statusMessage}`);
    if (!same(proxied.rawHeaders, direct.rawHeaders)) problems.push(`${name}: returned headers ${JSON.stringify(proxied.rawHeaders)}, server sent ${JSON.stringify(direct.rawHeaders)}`);
    if (!proxied.body.equals(direct.body)) problems.push(`${name}: returned body differs`);
    const ex = oracle.take(id);
    if (!ex) problems.push(`${name}: no exchange recorded`);
    return ex;
  };
  const expectOk = (name: string, ex: Exchange | undefined) => {
    if (!ex) return;
    if (ex.rejection) problems.push(`${name}: request rejected: ${ex.rejection.message}`);
    if (!ex.responseValidated) problems.push(`${name}: response not validated: ${ex.notValidated}`);
    if (ex.responseError) problems.push(`${name}: response rejected: ${ex.responseError}`);
  };
  const expectBadResponse = (name: string, ex: Exchange | undefined, pattern: RegExp) => {
    if (!ex) return;
    if (!ex.responseValidated) problems.push(`${name}: response not validated: ${ex.notValidated}`);
    if (!ex.responseError || !pattern.test(ex.responseError)) problems.push(`${name}: expected a response error matching ${pattern}, got ${ex.responseError}`);
  };
  const expectBadRequest = (name: string, ex: Exchange | undefined, pattern: RegExp) => {
    if (!ex) return;
    if (!ex.rejection || !pattern.test(ex.rejection.message)) problems.push(`${name}: expected a request rejection matching ${pattern}, got ${ex.rejection?.message}`);
    if (!ex.responseValidated) problems.push(`${name}: response not validated: ${ex.notValidated}`);
  };
  const ct = ['Content-Type', 'application/json'];

  try {
    expectOk(
      'a valid create, odd bytes and duplicate headers',
      await exchange('a valid create', json(201, PROJECT, ['X-Odd', 'a', 'x-odd', 'b']), 'POST', '/api/projects?x=%20y', [...ct, 'X-Client', 'one', 'x-client', 'two'], '{ "name" : "Self\\u0020check",  "extra": [1, 2.50] }'),
    );
    expectBadResponse('a 200 whose body breaks the schema', await exchange('bad 200', json(200, '[{"id":1}]'), 'GET', '/api/projects', []), /required property 'name'/);
    expectBadResponse('a 500 whose body breaks the schema', await exchange('bad 500', json(500, '{"oops":true}'), 'GET', '/api/projects', []), /required property/);
    expectOk('a documented 500', await exchange('good 500', json(500, '{"error":true,"code":"INTERNAL_ERROR","message":"boom"}'), 'GET', '/api/projects', []));
    expectBadResponse('an undocumented status', await exchange('418', json(418, '{"error":true,"code":"X","message":"x"}'), 'GET', '/api/projects', []), /no schema defined for status code '418'/);
    expectBadResponse('a body that is not JSON', await exchange('text', { status: 200, rawHeaders: ['Content-Type', 'text/plain'], body: 'hello' }, 'GET', '/api/projects', []), /must be array/);
    expectBadRequest('a body that breaks the schema', await exchange('bad body', json(400, '{"error":true,"code":"VALIDATION_ERROR","message":"name is required","details":{"field":"name"}}'), 'POST', '/api/projects', ct, '{"name":1}'), /name must be string/);
    expectBadRequest('malformed JSON', await exchange('malformed', json(400, '{"error":true,"code":"VALIDATION_ERROR","message":"Invalid JSON body"}'), 'POST', '/api/projects', ct, '{"name":'), /not JSON/);
    expectBadRequest('a path that does not decode', await exchange('%ZZ', json(404, NOT_FOUND), 'GET', '/api/projects/%ZZ', []), /malformed uri/);
    const unknown = await exchange('unknown path', json(404, '{"error":true,"code":"NOT_FOUND","message":"Route not found"}'), 'GET', '/api/nowhere', []);
    if (!unknown?.rejection || !/not found/.test(unknown.rejection.message)) problems.push(`an unknown path: expected the request to be rejected as not found, got ${unknown?.rejection?.message}`);
    if (unknown?.responseValidated || !unknown?.notValidated) problems.push('an unknown path: a response to no operation cannot be validated, and must be reported as such');
  } finally {
    front.close();
    oracle.close();
    upstream.close();
    upstream.closeAllConnections();
  }
  if (oracle.requests !== 10) problems.push(`the proxy saw ${oracle.requests} requests, expected 10`);
  return problems;
}
