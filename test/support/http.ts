/** HTTP for tests: one request over node:http (exactly as given, or with a JSON body), and a free port. */
import http from 'node:http';
import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: unknown;
}

/** A response whose parsed body is `any`, for brevity in tests that read fields off it. */
export type Reply = RawResponse & { body: any };

export interface RawRequestOptions {
  headers?: Record<string, string | number>;
  body?: string | Buffer;
  /** Default: no agent (a fresh connection per request). */
  agent?: http.Agent | false;
  timeoutMs?: number;
}

/** Sends one request to 127.0.0.1:port exactly as given (no defaults added) and collects the answer. */
export function rawRequest(port: number, method: string, urlPath: string, options: RawRequestOptions = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers: options.headers, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text === '' ? undefined : JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    if (options.timeoutMs) req.setTimeout(options.timeoutMs, () => req.destroy(new Error('request timeout')));
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

export interface CallOptions {
  /** Sent as JSON (with Content-Type: application/json unless `headers` say otherwise); `undefined` = no body. */
  body?: unknown;
  /** A raw body instead of `body`. */
  raw?: string | Buffer;
  headers?: Record<string, string>;
  agent?: http.Agent;
  timeoutMs?: number;
}

/**
 * One request to 127.0.0.1:`port` with Content-Length set. Rejects only on a transport error (connection refused
 * or reset: the server died), never on an HTTP status.
 */
export async function call(port: number, method: string, urlPath: string, options: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  let payload: string | Buffer | undefined = options.raw;
  if (options.body !== undefined) {
    payload = JSON.stringify(options.body);
    headers['Content-Type'] ??= 'application/json';
  }
  if (payload !== undefined) headers['Content-Length'] ??= String(Buffer.byteLength(payload));
  const res = await rawRequest(port, method, urlPath, { headers, body: payload, agent: options.agent ?? false, timeoutMs: options.timeoutMs });
  return Object.assign(res, { body: res.json as any });
}

/** A free TCP port on 127.0.0.1 (for child processes, which cannot report an ephemeral one). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export const JSON_CT = 'application/json; charset=utf-8';
