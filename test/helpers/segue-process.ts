import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const sourceDirectory = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');
const mainScript = path.join(sourceDirectory, 'main.js');
const cliScript = path.join(sourceDirectory, 'cli', 'segue.js');

/** Variables a developer's shell may hold that would change what the server under test is. */
const inheritedSegueVariables = new Set(['SEGUE_FFMPEG', 'SEGUE_FFPROBE']);

/** How a `SegueProcess` is started, and how it is known to be up. */
export interface SegueProcessOptions {
  readonly port: number;
  readonly dataDir: string;
  readonly environment: Record<string, string>;
  /** A `segue` command (e.g. `['worker', '--kinds', 'task.start']`) instead of `npm start`. */
  readonly command?: readonly string[];
  /** Where it writes (default `server.log` in the data directory, which several processes may share). */
  readonly logFile?: string;
  /** Up when this text appears in the log of the current start (a worker has no /healthz); default: /healthz answers. */
  readonly readyLine?: string;
}

/**
 * `npm start` (or a `segue` command) as a real process (`dist/src/main.js`) on a fixed data
 * directory and port, that a test can SIGKILL and start again any number of times. The server runs
 * in its own process group and a kill takes the whole group (its ffmpeg children included), as when
 * a container or machine dies. Everything it writes goes to one log file, appended across restarts.
 */
export class SegueProcess {
  readonly baseUrl: string;
  readonly logFile: string;
  /** How many times the process was started. */
  starts = 0;
  private child: ChildProcess | undefined;
  private gate: { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } = deferred();
  /** Set when the process ended without being asked to: every later wait fails with it. */
  private unexpectedExit: Error | undefined;
  private stopped = false;

  constructor(readonly options: SegueProcessOptions) {
    this.baseUrl = `http://127.0.0.1:${options.port}`;
    this.logFile = options.logFile ?? path.join(options.dataDir, 'server.log');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the process; `whenUp()` resolves once it answers /healthz. */
  start(): void {
    if (this.child) throw new Error('the server is already running');
    this.stopped = false;
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('SEGUE_') || inheritedSegueVariables.has(name)),
    );
    const log = fs.openSync(this.logFile, 'a');
    fs.writeSync(log, `\n=== start #${this.starts + 1} at ${new Date().toISOString()} ===\n`);
    const script = this.options.command ? [cliScript, ...this.options.command] : [mainScript];
    const child = spawn(process.execPath, script, {
      env: { ...inherited, HOST: '127.0.0.1', PORT: String(this.options.port), SEGUE_DATA_DIR: this.options.dataDir, ...this.options.environment },
      stdio: ['ignore', log, log],
      detached: true,
    });
    fs.closeSync(log);
    this.starts++;
    this.child = child;
    child.once('exit', (code, signal) => {
      if (this.child !== child) return;
      // Not asked to stop: the server died by itself.
      this.child = undefined;
      this.unexpectedExit = new Error(`the server (start #${this.starts}) exited by itself: code ${code}, signal ${signal}\n${this.logTail()}`);
      this.gate.reject(this.unexpectedExit);
    });
    void this.awaitHealthy(child);
  }

  /**
   * Resolves once a process answers /healthz (waiting through kills and restarts); rejects if the
   * server died by itself, was stopped, or the time is up.
   */
  async whenUp(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.unexpectedExit) throw this.unexpectedExit;
      if (this.stopped) throw new Error('the server was stopped');
      const gate = this.gate.promise;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), Math.max(0, deadline - Date.now()));
      });
      try {
        if ((await Promise.race([gate.then(() => 'up' as const), timeout])) === 'up') return;
        throw new Error(`the server did not come up within ${timeoutMs} ms\n${this.logTail()}`);
      } catch (error) {
        // A kill while waiting: wait for the next start, unless that was the end.
        if (this.unexpectedExit || this.stopped || Date.now() >= deadline) throw this.unexpectedExit ?? error;
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /** SIGKILLs the process group at once and waits until the server process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    this.gate.reject(new Error('the server was killed'));
    this.gate = deferred();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    killGroup(child, 'SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await exited;
  }

  /** Asks the server to stop (SIGTERM) and waits; SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    const child = this.child;
    this.stopped = true;
    if (!child) return;
    this.child = undefined;
    this.gate.reject(new Error('the server was stopped'));
    this.gate = deferred();
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    killGroup(child, 'SIGKILL');
  }

  /** The last lines the server wrote, for failure messages. */
  logTail(lines = 40): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no server log)';
    }
  }

  private async awaitHealthy(child: ChildProcess): Promise<void> {
    const gate = this.gate;
    // Marked handled: nobody may be waiting when a kill or an unexpected exit rejects it.
    gate.promise.catch(() => {});
    const start = this.starts;
    while (this.child === child) {
      if ((await this.isUp(start)) && this.child === child) {
        gate.resolve();
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Whether start number `start` is up: its ready line is in the log, or /healthz answers. */
  private async isUp(start: number): Promise<boolean> {
    const readyLine = this.options.readyLine;
    if (readyLine !== undefined) {
      const log = fs.readFileSync(this.logFile, 'utf8');
      return log.slice(log.lastIndexOf(`=== start #${start} at`)).includes(readyLine);
    }
    try {
      const response = await fetch(`${this.baseUrl}/healthz`, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      return response.ok;
    } catch {
      // Not listening yet.
      return false;
    }
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // The group is already gone.
  }
}

function deferred() {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}
