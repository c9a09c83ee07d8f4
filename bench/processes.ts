/** Child processes of the benchmark: start, wait until they answer HTTP, CPU time, stop. */

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** A Node.js child process whose output is kept (its tail shown if it fails). */
export interface NodeChild {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number;
  /** The last lines it wrote (stdout and stderr). */
  tail(): string;
  exited(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<NodeChild>();

// Last resort: never leave a child behind, whatever ends this process.
process.once('exit', () => {
  for (const child of live) if (!child.exited()) child.process.kill('SIGKILL');
});

/** Starts `node [nodeArgs] script` with `env`; its output lines are echoed to stderr when `echo`. */
export function spawnNode(
  name: string,
  script: string,
  env: NodeJS.ProcessEnv,
  options: { nodeArgs?: string[]; echo?: boolean } = {},
): NodeChild {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line.trim()) continue;
      lines.push(line);
      if (lines.length > 40) lines.shift();
      if (options.echo !== false) process.stderr.write(`[${name}] ${line}\n`);
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exitedPromise = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  let stopping: Promise<void> | undefined;
  const handle: NodeChild = {
    name,
    process: child,
    pid: child.pid as number,
    tail: () => lines.join('\n'),
    exited,
    stop(graceMs = 5000) {
      stopping ??= (async () => {
        if (!exited()) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          await exitedPromise;
          clearTimeout(timer);
        }
        live.delete(handle);
      })();
      return stopping;
    },
  };
  if (child.pid === undefined) throw new Error(`${name}: could not start ${process.execPath} ${script}`);
  live.add(handle);
  return handle;
}

/** Polls `url` until it answers 200; fails early if `child` exits. */
export async function waitForHttp(url: string, child: NodeChild, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exited()) {
      throw new Error(`${child.name} exited during start-up (code ${child.process.exitCode}):\n${child.tail()}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {}
    await sleep(50);
  }
  throw new Error(`${child.name} did not answer ${url} within ${timeoutMs} ms:\n${child.tail()}`);
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on every mainstream Linux). */
const USER_HZ = 100;

/** CPU time (user + system) of a process in seconds, or undefined off Linux or once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  if (pid === process.pid) {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), from field 3 (state) on.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return undefined;
  }
}

/** CPU time (all cores, everything but idle and iowait) of the whole machine in seconds, or undefined off Linux. */
export function machineBusySeconds(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    const total = ticks.slice(0, 8).reduce((sum, value) => sum + value, 0);
    return (total - (ticks[3] ?? 0) - (ticks[4] ?? 0)) / USER_HZ;
  } catch {
    return undefined;
  }
}
