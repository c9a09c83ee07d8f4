import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** The built hub, as `npm start` runs it. */
export const HUB_MAIN = resolve(import.meta.dirname, '../../server/dist/main.js');
/** The repository's root, where `npm start` runs. */
export const REPO_ROOT = resolve(import.meta.dirname, '../..');

/**
 * Whether a process with this pid exists and has not exited. A zombie counts as exited: a
 * process whose parent was killed is reparented to PID 1, which in a container may never reap it.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // Linux: the state is the field after the parenthesised name.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** A child process with its output kept. */
export interface RunningProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** stdout and stderr together, in arrival order. */
  output(): string;
  /** Its exit: the code, or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL if it still runs (for `finally`). */
  kill(): void;
}

/** Starts `command` with only `env` set (plus PATH and HOME, unless given). */
export function runProcess(
  command: string,
  args: string[],
  options: { env: Record<string, string>; cwd?: string; detached?: boolean },
): RunningProcess {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached,
  });
  let out = '';
  let err = '';
  let all = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    all += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
    all += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once('exit', (code, signal) => resolveExit({ code, signal })),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    output: () => all,
    exited,
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Runs the built hub (`node server/dist/main.js`) in `cwd` with only `env` set. */
export function runHubProcess(env: Record<string, string>, cwd: string): RunningProcess {
  return runProcess(process.execPath, [HUB_MAIN], { env, cwd });
}

/** The pid of the embedded redis-server, from the hub's `embedded redis started` log line, if logged yet. */
export function embeddedRedisPid(output: string): number | undefined {
  const pid = Number(/"pid":(\d+)[^\n]*embedded redis started/.exec(output)?.[1]);
  return pid > 0 ? pid : undefined;
}

/** Resolves with the exit, or rejects once `ms` have passed (the process is then left to the caller). */
export async function exitWithin(
  running: RunningProcess,
  ms: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${ms} ms:\n${running.output().slice(-3000)}`)), ms);
  });
  try {
    return await Promise.race([running.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
