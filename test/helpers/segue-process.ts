import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const distSrc = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');
/** The compiled entry points a test may run: `npm start` and `npx segue`. */
export const segueScripts = { main: path.join(distSrc, 'main.js'), cli: path.join(distSrc, 'cli', 'segue.js') } as const;

/** Variables a developer's shell may hold that would change what the server under test is. */
const inheritedSegueVariables = new Set(['SEGUE_FFMPEG', 'SEGUE_FFPROBE']);

/** How a test knows a start is over: the process answers `/healthz`, or its log has printed a line. */
export type Readiness = 'healthz' | { readonly logIncludes: string };

export interface SegueProcessOptions {
  /** The HTTP port (PORT); absent for a process that serves no HTTP (then `ready` must name a log line). */
  readonly port?: number;
  readonly dataDir: string;
  readonly environment: Record<string, string>;
  /** What node runs: a script and its arguments (default `dist/src/main.js`), e.g. `[segueScripts.cli, 'worker']`. */
  readonly command?: readonly string[];
  /** Names the log file, `<dataDir>/<name>.log` (default `server`): several processes may share a data dir. */
  readonly name?: string;
  /** Default `healthz`. */
  readonly ready?: Readiness;
}

/**
 * `npm start` as a real process (`dist/src/main.js`, or another `command` such as `segue worker`)
 * on a fixed data directory and port, that a test can SIGKILL and start again any number of times.
 * The server runs in its own process group and a kill takes the whole group (its ffmpeg children
 * included), as when a container or machine dies. Everything it writes goes to one log file,
 * appended across restarts.
 */
export class SegueProcess {
  readonly logFile: string;
  readonly name: string;
  /** How many times the process was started. */
  starts = 0;
  private child: ChildProcess | undefined;
  private gate: { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } = deferred();
  /** Set when the process ended without being asked to: every later wait fails with it. */
  private unexpectedExit: Error | undefined;
  private stopped = false;

  /** Where in the log file the current start's output begins (a log-line readiness looks only there). */
  private logOffset = 0;

  constructor(readonly options: SegueProcessOptions) {
    this.name = options.name ?? 'server';
    this.logFile = path.join(options.dataDir, `${this.name}.log`);
    if (options.port === undefined && (options.ready ?? 'healthz') === 'healthz') throw new Error(`${this.name}: a process without a port needs a log-line readiness`);
  }

  get baseUrl(): string {
    if (this.options.port === undefined) throw new Error(`${this.name} serves no HTTP`);
    return `http://127.0.0.1:${this.options.port}`;
  }

  /** How messages name it: "the server", or its name. */
  private get label(): string {
    return this.name === 'server' ? 'the server' : this.name;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the process; `whenUp()` resolves once it is ready (answers /healthz, or logged its line). */
  start(): void {
    if (this.child) throw new Error('the server is already running');
    this.stopped = false;
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('SEGUE_') || inheritedSegueVariables.has(name)),
    );
    const log = fs.openSync(this.logFile, 'a');
    fs.writeSync(log, `\n=== start #${this.starts + 1} at ${new Date().toISOString()} ===\n`);
    this.logOffset = fs.fstatSync(log).size;
    const port = this.options.port === undefined ? {} : { PORT: String(this.options.port) };
    const child = spawn(process.execPath, [...(this.options.command ?? [segueScripts.main])], {
      env: { ...inherited, HOST: '127.0.0.1', ...port, SEGUE_DATA_DIR: this.options.dataDir, ...this.options.environment },
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
      this.unexpectedExit = new Error(`${this.label} (start #${this.starts}) exited by itself: code ${code}, signal ${signal}\n${this.logTail()}`);
      this.gate.reject(this.unexpectedExit);
    });
    void this.awaitHealthy(child);
  }

  /**
   * Resolves once a process is ready (waiting through kills and restarts); rejects if the
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
        throw new Error(`${this.label} did not come up within ${timeoutMs} ms\n${this.logTail()}`);
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

  /** What the current start has written so far. */
  private logSinceStart(): string {
    const handle = fs.openSync(this.logFile, 'r');
    try {
      const length = Math.max(0, fs.fstatSync(handle).size - this.logOffset);
      const buffer = Buffer.alloc(length);
      fs.readSync(handle, buffer, 0, length, this.logOffset);
      return buffer.toString('utf8');
    } finally {
      fs.closeSync(handle);
    }
  }

  private async awaitHealthy(child: ChildProcess): Promise<void> {
    const gate = this.gate;
    // Marked handled: nobody may be waiting when a kill or an unexpected exit rejects it.
    gate.promise.catch(() => {});
    const ready = this.options.ready ?? 'healthz';
    while (this.child === child) {
      try {
        if (ready === 'healthz') {
          const response = await fetch(`${this.baseUrl}/healthz`, { signal: AbortSignal.timeout(2_000) });
          await response.arrayBuffer();
          if (response.ok && this.child === child) {
            gate.resolve();
            return;
          }
        } else if (this.logSinceStart().includes(ready.logIncludes) && this.child === child) {
          gate.resolve();
          return;
        }
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
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
