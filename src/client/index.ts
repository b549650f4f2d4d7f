/**
 * The package entry `maestro-server/client` (built into dist/client/ by scripts/build-client.mjs): the generated
 * typed HTTP client (one method per operation, `ApiError` with the contract's `code`), the generated one-shot
 * event subscriber, and `subscribe()`, the subscriber that reconnects. Browser-safe: global fetch and WebSocket,
 * no Node import anywhere on this path (test/client-package checks it).
 */
export * from '../../generated/client/index.js';
export { subscribe, backoffDelay, webSocketUrl } from './subscribe.js';
export type { CloseInfo, OpenInfo, ReconnectOptions, SubscribeOptions, Subscription, SubscriptionState } from './subscribe.js';
