/**
 * CPU time from /proc (Linux): on a shared 2-core machine wall time also measures the
 * neighbours, CPU time much less so, and a side that saturates both cores shows it here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// Clock ticks per second of /proc/PID/stat (getconf CLK_TCK: 100 on every Linux we run on).
const TICKS_PER_SECOND = 100;

/**
 * User+system CPU milliseconds of a process (all its threads; `proc` a pid or 'self') or of one
 * thread (`proc` 'PID/task/TID'), or with `children` of its waited-for children (and theirs);
 * undefined once it has exited.
 */
export function procCpuMs(proc: number | string = 'self', which: 'own' | 'children' = 'own'): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${proc}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // After the ')' of the command name the list starts at field 3 (state); utime, stime are
  // fields 14 and 15, cutime, cstime 16 and 17.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const at = which === 'own' ? 11 : 13;
  return ((Number(fields[at]) + Number(fields[at + 1])) * 1000) / TICKS_PER_SECOND;
}

/** CPU milliseconds of this process's waited-for children (and theirs). */
export const childrenCpuMs = (): number => procCpuMs('self', 'children') ?? 0;

/** CPU ms of the Kafka broker started by scripts/services/kafka.sh (its pid file), NaN when it is not ours. */
export function brokerCpuMs(): number {
  try {
    const pid = Number(readFileSync(join(process.env.TAILPLOW_RUN_DIR ?? '/tmp/tailplow-services', 'kafka/kafka.pid'), 'utf8').trim());
    return procCpuMs(pid) ?? NaN;
  } catch {
    return NaN;
  }
}


/** A process and its live descendants (/proc/PID/task/TID/children, Linux 3.5+). */
export function processTree(pid: number): number[] {
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${pids[i]}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      try {
        for (const child of readFileSync(`/proc/${pids[i]}/task/${tid}/children`, 'utf8').split(' ')) if (child.trim()) pids.push(Number(child));
      } catch {
        // The thread or process ended meanwhile.
      }
    }
  }
  return pids;
}

/** CPU ms of a process and its live descendants (`workers` of `process`). */
export const treeCpuMs = (pid: number): number => processTree(pid).reduce((sum, p) => sum + (procCpuMs(p) ?? 0), 0);

/** Resident KiB of a process and its live descendants. */
export function treeRssKb(pid: number): number {
  let kb = 0;
  for (const p of processTree(pid)) {
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // Ended meanwhile.
    }
  }
  return kb;
}
