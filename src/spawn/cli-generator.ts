import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import path from 'node:path';
import type { Role, WorkerStrategy } from '../../generated/types/index.js';
import { ManifestGenerationError, type CapturedOutput } from './errors.js';

/** docs/behaviour.md §8.5: the child is killed after 30 s. */
export const CLI_TIMEOUT_MS = 30_000;

/** How much of each stream is kept in memory; older output is dropped (only the tail matters, §8.5). */
const MAX_CAPTURE_CHARS = 64 * 1024;
/** How much of stderr (or stdout) goes into the non-zero-exit reason. */
const REASON_TAIL_CHARS = 500;

export const CLI_NOT_FOUND_REASON = 'maestro CLI not found. Please install maestro: npm install -g maestro-cli';

export interface CliGenerateOptions {
  /** MAESTRO_CLI_PATH: an absolute or relative path, or a bare name looked up on the child's PATH. */
  cliPath: string;
  role: Role;
  projectId: string;
  /** Normalised `taskIds`, in order. */
  taskIds: readonly string[];
  /** Normalised skills; may be empty (then `--skills ""` is passed, §11.17). */
  skills: readonly string[];
  /** The spawn strategy; `tree` is passed as `simple` (the CLI rejects `tree`). */
  strategy: WorkerStrategy;
  /** Absolute path of the manifest to write (`--output`). */
  outputPath: string;
  /** Absolute DATA_DIR and SESSION_DIR, added to the child's environment. */
  dataDir: string;
  sessionDir: string;
  /** Base environment of the child; defaults to the server's own. */
  env?: NodeJS.ProcessEnv;
  /** Working directory of the child; defaults to the server's own. */
  cwd?: string;
  /** Time limit; 30 s unless a test shortens it. */
  timeoutMs?: number;
}

export interface CliRunResult extends CapturedOutput {
  /** The argument vector the CLI received (after the executable). */
  args: string[];
  durationMs: number;
}

/** The argument vector of docs/behaviour.md §8.5 / §11.17: only these six flags, never `--api-url`. */
export function cliManifestArgs(options: Pick<CliGenerateOptions, 'role' | 'projectId' | 'taskIds' | 'skills' | 'strategy' | 'outputPath'>): string[] {
  return [
    'manifest',
    'generate',
    '--role',
    options.role,
    '--project-id',
    options.projectId,
    '--task-ids',
    options.taskIds.join(','),
    '--skills',
    options.skills.join(','),
    '--strategy',
    options.strategy === 'queue' ? 'queue' : 'simple',
    '--output',
    options.outputPath,
  ];
}

/** The human form of a time limit for the timeout reason: "30 s", "0.5 s". */
function secondsText(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

function tail(text: string, max: number): string {
  const trimmed = text.trim();
  return trimmed.length <= max ? trimmed : `…${trimmed.slice(trimmed.length - max)}`;
}

/**
 * Runs `{cliPath} manifest generate …` (docs/behaviour.md §8.5 `cli` mode) with an argument vector and no shell, in
 * the server's working directory, with the server's environment plus DATA_DIR and SESSION_DIR. Resolves when
 * the CLI exits 0; rejects with a ManifestGenerationError carrying the §8.5 reason and the captured output
 * otherwise. Reading back and checking the file is `finaliseManifest`'s job.
 */
export function runCliManifestGenerate(options: CliGenerateOptions): Promise<CliRunResult> {
  const args = cliManifestArgs(options);
  const timeoutMs = options.timeoutMs ?? CLI_TIMEOUT_MS;
  const env: NodeJS.ProcessEnv = {
    ...(options.env ?? process.env),
    DATA_DIR: path.resolve(options.dataDir),
    SESSION_DIR: path.resolve(options.sessionDir),
  };
  const started = Date.now();

  return new Promise<CliRunResult>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    let timedOut = false;

    const output = (): CapturedOutput => ({ stdout, stderr });
    const finish = (error: ManifestGenerationError | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve({ ...output(), args, durationMs: Date.now() - started });
    };

    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(options.cliPath, args, {
        cwd: options.cwd ?? process.cwd(),
        env,
        shell: false,
        stdio: ['ignore', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (error) {
      // Synchronous failures: an invalid path argument, EINVAL for .cmd files on Windows, …
      reject(new ManifestGenerationError(`Failed to spawn maestro CLI: ${errorText(error)}`, { stdout, stderr }, { cause: error }));
      return;
    }

    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);

    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout = (stdout + chunk).slice(-MAX_CAPTURE_CHARS);
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-MAX_CAPTURE_CHARS);
    });

    child.on('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'ENOENT' ? CLI_NOT_FOUND_REASON : `Failed to spawn maestro CLI: ${error.message}`;
      finish(new ManifestGenerationError(reason, output(), { cause: error }));
    });

    // After a kill, settle on 'exit': a grandchild may still hold the pipes open, and 'close' would wait for it.
    child.on('exit', () => {
      if (timedOut) finish(new ManifestGenerationError(`Manifest generation timed out after ${secondsText(timeoutMs)}`, output()));
    });

    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
      if (timedOut) {
        finish(new ManifestGenerationError(`Manifest generation timed out after ${secondsText(timeoutMs)}`, output()));
      } else if (code === 0) {
        finish(undefined);
      } else {
        // A child killed by a signal reports the shell convention 128 + signal number.
        const exit = code ?? (signal !== null ? 128 + (constants.signals[signal] ?? 0) : 'unknown');
        const detail = tail(stderr, REASON_TAIL_CHARS) || tail(stdout, REASON_TAIL_CHARS) || '(no output)';
        finish(new ManifestGenerationError(`Manifest generation failed (exit code ${exit}): ${detail}`, output()));
      }
    });
  });
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
