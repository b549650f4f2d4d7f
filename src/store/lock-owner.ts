/**
 * Who holds the DATA_DIR lock, and whether that holder still runs (docs/behaviour.md §5.4 "One writer", API 1.2:
 * a reused pid is stale). A pid alone cannot tell: the new server itself may get the pid of the old one (PID 1
 * in a container after a restart; the same pid after a reboot). So the lock records the process's identity:
 *
 *   {pid}                      first line: the pid alone (`head -n1 .lock` names the holder)
 *   boot_id={id}               /proc/sys/kernel/random/boot_id: changes at every boot
 *   start_time={ticks}         field 22 of /proc/{pid}/stat: when that process started, in clock ticks since boot
 *   pid_ns={inode}             the PID namespace the pid belongs to (/proc/self/ns/pid): in a container, its own
 *   hostname={name}            for the operator's message
 *   instance={random}          chosen once per process: tells "this very process" from "a reused own pid"
 *   started_at={ISO time}      for the operator's message
 *
 * Invariant: a holder is live only when its pid runs *and* every identity fact that both sides know agrees
 * (same boot, same start time, and for our own pid the same instance). Facts that cannot be read (no /proc, a
 * lock written by an older version that holds only the pid) are skipped, never guessed. A pid of another PID
 * namespace is looked up in that namespace (by its processes' NSpid) when this process can see it, that is from
 * the host for a server in a container; a namespace that cannot be seen is taken as gone (limit: a server in a
 * container cannot see a holder on the host).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { randomBytes } from 'node:crypto';

export interface LockOwner {
  pid: number;
  pidNamespace?: string;
  bootId?: string;
  startTime?: string;
  hostname?: string;
  instance?: string;
  startedAt?: string;
}

/** One value per process: two opens of one DATA_DIR inside this process see the same instance. */
const THIS_INSTANCE = randomBytes(8).toString('hex');
/** When this process started (wall clock), computed once so every lock it writes says the same. */
const THIS_STARTED_AT = new Date(Date.now() - process.uptime() * 1000).toISOString();

/** The identity this process writes into a lock it takes. */
export function thisProcess(pid: number = process.pid): LockOwner {
  return {
    pid,
    pidNamespace: pidNamespaceOf('self'),
    bootId: readBootId(),
    startTime: processStartTime(pid),
    hostname: osHostname(),
    instance: THIS_INSTANCE,
    startedAt: THIS_STARTED_AT,
  };
}

const KEYS: ReadonlyArray<[keyof LockOwner, string]> = [
  ['pidNamespace', 'pid_ns'],
  ['bootId', 'boot_id'],
  ['startTime', 'start_time'],
  ['hostname', 'hostname'],
  ['instance', 'instance'],
  ['startedAt', 'started_at'],
];

export function formatLock(owner: LockOwner): string {
  let text = `${owner.pid}\n`;
  for (const [field, key] of KEYS) {
    const value = owner[field];
    // A value with a line break would spill into the next key; such a fact is left out rather than mangled.
    if (typeof value === 'string' && value !== '' && !/[\r\n]/.test(value)) text += `${key}=${value}\n`;
  }
  return text;
}

/**
 * The owner a lock file names, or undefined when it names none (empty or garbled: what a crash while creating
 * it leaves). A file holding only a pid (older versions) gives an owner with the pid alone.
 */
export function parseLock(text: string): LockOwner | undefined {
  const lines = text.split('\n').map((l) => l.trim());
  const first = lines[0] ?? '';
  if (!/^[0-9]+$/.test(first)) return undefined;
  const pid = Number(first);
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  const owner: LockOwner = { pid };
  for (const line of lines.slice(1)) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    const field = KEYS.find(([, k]) => k === key)?.[0];
    if (field !== undefined && field !== 'pid') owner[field] = line.slice(eq + 1);
  }
  return owner;
}

/** True when a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Why the recorded holder no longer holds the lock, or undefined when it is live. `self` is the process asking.
 */
export function staleReason(holder: LockOwner, self: LockOwner): string | undefined {
  if (holder.bootId !== undefined && self.bootId !== undefined && holder.bootId !== self.bootId) {
    return 'it was taken before the machine restarted (other boot id)';
  }
  if (holder.pidNamespace !== undefined && self.pidNamespace !== undefined && holder.pidNamespace !== self.pidNamespace) {
    // The recorded pid means nothing in our namespace: look for the holder inside its own namespace.
    return findInNamespace(holder) ? undefined : `no process with pid ${holder.pid} and its start time is left in its PID namespace`;
  }
  if (holder.pid === self.pid) {
    // Our own pid: either this very process (a second open here) or an earlier process that had our pid.
    const same =
      holder.startTime !== undefined && self.startTime !== undefined
        ? holder.startTime === self.startTime // same pid, boot and start time: provably this process
        : holder.instance !== undefined && holder.instance === self.instance;
    return same ? undefined : `its pid ${holder.pid} is now this process's own pid`;
  }
  if (!isProcessAlive(holder.pid)) return `pid ${holder.pid} no longer runs`;
  if (holder.startTime !== undefined) {
    const now = processStartTime(holder.pid);
    if (now !== undefined && now !== holder.startTime) return `pid ${holder.pid} now belongs to another process (other start time)`;
  }
  return undefined;
}

/** `4026531836` from `/proc/{pid}/ns/pid` → `pid:[4026531836]` (Linux), else undefined. */
function pidNamespaceOf(pid: number | 'self'): string | undefined {
  try {
    return /^pid:\[([0-9]+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/pid`))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * True when a process visible here lives in the holder's PID namespace with the holder's pid there (the last
 * NSpid entry) and, when recorded, its start time. Only namespaces nested in ours are visible.
 */
function findInNamespace(holder: LockOwner): boolean {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return false;
  }
  for (const name of entries) {
    if (!/^[0-9]+$/.test(name)) continue;
    const pid = Number(name);
    if (pidNamespaceOf(pid) !== holder.pidNamespace) continue;
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      continue;
    }
    const nspids = /^NSpid:\s*(.+)$/m.exec(status)?.[1]?.trim().split(/\s+/);
    if (nspids?.[nspids.length - 1] !== String(holder.pid)) continue;
    if (holder.startTime === undefined || processStartTime(pid) === holder.startTime) return true;
  }
  return false;
}

/** /proc/sys/kernel/random/boot_id (Linux), else undefined. */
export function readBootId(): string | undefined {
  try {
    const id = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return id === '' ? undefined : id;
  } catch {
    return undefined;
  }
}

/**
 * Field 22 (starttime) of /proc/{pid}/stat (Linux), else undefined. Field 2 is the command name in parentheses
 * and may itself hold spaces and parentheses, so fields are counted from the last `)`.
 */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const value = fields[22 - 3]; // fields[0] is field 3 (state)
  return value !== undefined && /^[0-9]+$/.test(value) ? value : undefined;
}
