import { spawn } from 'node:child_process';

/** A media tool exited badly, timed out or was aborted; `stderrTail` holds its last words. */
export class MediaProcessError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderrTail: string,
    readonly timedOut: boolean,
    readonly aborted: boolean,
  ) {
    super(message);
    this.name = 'MediaProcessError';
  }
}

export interface RunOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Bytes written to the process's standard input, then closed. */
  readonly input?: Buffer;
  /** The working directory (lets arguments name files by short relative paths). */
  readonly cwd?: string;
}

const stderrLimit = 16 * 1024;

/**
 * Runs a binary with an argument array (never a shell), a timeout and an abort signal.
 * Standard output is collected; only the tail of standard error is kept.
 */
export function runProcess(binary: string, args: readonly string[], options: RunOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new MediaProcessError('aborted before start', null, '', false, true));
      return;
    }
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(options.cwd ? { cwd: options.cwd } : {}) });
    const stdout: Buffer[] = [];
    let stderr = '';
    let timedOut = false;
    let aborted = false;
    const kill = () => child.kill('SIGKILL');
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, options.timeoutMs);
    const onAbort = () => {
      aborted = true;
      kill();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-stderrLimit);
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input);
    child.on('error', (error) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      reject(new MediaProcessError(`could not start ${binary}: ${error.message}`, null, '', false, false));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (code === 0 && !timedOut && !aborted) {
        resolve(Buffer.concat(stdout));
        return;
      }
      const reason = timedOut ? 'timed out' : aborted ? 'was aborted' : `exited with code ${code}`;
      reject(new MediaProcessError(`${binary.split('/').pop()} ${reason}`, code, stderr.trim(), timedOut, aborted));
    });
  });
}
