/**
 * DNS-rebinding guard (docs/behaviour.md §6.2, §3.3 #0): while bound to loopback, a request whose `Host` header names
 * anything but `localhost`, a 127.x.x.x address or `[::1]` (any port, case-insensitive) gets 403 FORBIDDEN.
 * A request without `Host` is allowed. Shared with the WebSocket upgrade (src/ws/hub.ts).
 */
import { ContractError } from '../contract-error.js';

const LOOPBACK_HOST_HEADER = /^(?:localhost|127(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}|\[::1\])(?::\d{1,5})?$/i;

/** True when a `Host` header value may reach a loopback-bound server. */
export function isAllowedHostHeader(host: string | undefined): boolean {
  if (host === undefined || host === '') return true;
  return LOOPBACK_HOST_HEADER.test(host);
}

export function hostNotAllowed(): ContractError {
  return new ContractError(403, 'FORBIDDEN', 'Host not allowed');
}
