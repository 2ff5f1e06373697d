// Processes by pid, told apart from later ones that reused the pid by their
// start time (/proc/PID/stat field 22, in clock ticks since boot).
import { readFileSync } from 'node:fs';

/** Field 22 of /proc/PID/stat: tells our process from a later one that reused its pid. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Is the process that had `pid` and started at `start` still there (and not a zombie)? */
export function processAlive(pid: number, start: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] === start && fields[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Killing a sandbox's main process: PID 1 of its PID namespace, so the kernel
 * kills the rest with it (the undo of starting it).
 */
export function killAction(name: string, pid: () => number | undefined) {
  return {
    title: `killing the processes of sandbox ${name}`,
    get equivalent() {
      return [`kill -KILL ${pid() ?? '<pid>'}`];
    },
    do: async () => {
      try {
        process.kill(pid()!, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
}
