/**
 * Identifier generation and the id safety rules (docs/behaviour.md §0.1, §5.6).
 */
import { randomBytes } from 'node:crypto';

/** The entity kinds that get server-generated ids (docs/behaviour.md §0.1). */
export type IdPrefix = 'proj' | 'task' | 'sess' | 'evt' | 'tmpl';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
const RANDOM_LENGTH = 9;
// 252 = 7 * 36: bytes at or above it are rejected so that every character is equally likely.
const REJECT_FROM = 252;

/** Nine characters from [0-9a-z], crypto-random and unbiased (rejection sampling). */
function randomSuffix(): string {
  let out = '';
  while (out.length < RANDOM_LENGTH) {
    const bytes = randomBytes(16);
    for (const b of bytes) {
      if (b >= REJECT_FROM) continue;
      out += ALPHABET[b % 36];
      if (out.length === RANDOM_LENGTH) break;
    }
  }
  return out;
}

/**
 * A new id `{prefix}_{ms}_{9 chars}` (docs/behaviour.md §0.1). `taken` tells whether an id already exists for
 * this kind; a colliding id is regenerated. `ms` defaults to the wall clock.
 */
export function newId(prefix: IdPrefix, taken?: (id: string) => boolean, ms: number = Date.now()): string {
  // A collision needs the same millisecond and the same 9 random characters (36^9 ≈ 10^14); the loop is a
  // guarantee, not a hot path. The bound only protects against a `taken` that answers true for everything.
  for (let attempt = 0; attempt < 1000; attempt++) {
    const id = `${prefix}_${Math.trunc(ms)}_${randomSuffix()}`;
    if (taken === undefined || !taken(id)) return id;
  }
  throw new Error(`newId: could not find a free ${prefix} id`);
}

/** The shape every server-generated id has (docs/behaviour.md §0.1). */
export const GENERATED_ID_PATTERN = /^(proj|task|sess|evt|tmpl)_[0-9]+_[0-9a-z]{9}$/;

/**
 * True when the id must never take part in a filesystem path (docs/behaviour.md §0.1, §5.6): it contains `/`, `\` or
 * NUL, or equals `.` or `..`. The empty string is unsafe too (it would name the file `.json`); the
 * API cannot produce it (no route has an empty segment), so treating it as unknown is invisible.
 */
export function isUnsafeId(id: string): boolean {
  if (typeof id !== 'string') return true;
  if (id === '' || id === '.' || id === '..') return true;
  return id.includes('/') || id.includes('\\') || id.includes('\0');
}

const CLIENT_SESSION_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** A client-chosen session id on E14: 1–128 of [A-Za-z0-9._-], not `.` or `..` (docs/behaviour.md §0.1). */
export function isValidClientSessionId(id: unknown): id is string {
  return typeof id === 'string' && CLIENT_SESSION_ID.test(id) && id !== '.' && id !== '..';
}
