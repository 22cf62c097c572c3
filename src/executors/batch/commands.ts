import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import type { CommandLine } from './types.js';

export interface CommandResult { stdout: string; stderr: string; exitCode: number }

/** Variables batch commands get from the hub; the rest of the hub's environment (secrets) stays out. */
const PASSED_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'SLURM_CONF', 'CONDOR_CONFIG', 'KRB5CCNAME'];
const MAX_OUTPUT = 64 * 1024 * 1024;

/** Thrown when a command did not finish in time (it was killed): the controller did not answer. */
export class CommandTimeout extends Error {}

/**
 * Runs batch commands (sbatch, squeue, ...) with a timeout and a trimmed environment, counting
 * invocations per program so tests and benchmarks can assert "one squeue per poll".
 */
export class CommandRunner {
  readonly counts = new Map<string, number>();

  constructor(private readonly timeoutMs: number) {}

  /** Invocations of `program` (its base name, e.g. "squeue") so far. */
  count(program: string): number {
    return this.counts.get(program) ?? 0;
  }

  /**
   * Resolves with the output and exit code; rejects only when the program cannot be started or
   * exceeds the timeout (then it is killed, CommandTimeout): both mean the controller did not answer.
   */
  run(cmd: CommandLine, timeoutMs = this.timeoutMs): Promise<CommandResult> {
    const program = basename(cmd.argv[0]!);
    this.counts.set(program, this.count(program) + 1);
    const env: NodeJS.ProcessEnv = {};
    for (const k of PASSED_ENV) if (process.env[k] !== undefined) env[k] = process.env[k];
    env.PATH ??= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
    return new Promise((resolve, reject) => {
      const child = spawn(cmd.argv[0]!, cmd.argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let size = 0;
      let timedOut = false;
      const timer = setTimeout(function killSlowCommand() {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      const collect = (into: Buffer[]) => (d: Buffer) => {
        size += d.length;
        if (size <= MAX_OUTPUT) into.push(d);
      };
      child.stdout.on('data', collect(out));
      child.stderr.on('data', collect(err));
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`${program} could not be run: ${e.message}`));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (timedOut) return reject(new CommandTimeout(`${program} did not answer within ${timeoutMs} ms`));
        const stderr = Buffer.concat(err).toString('utf8');
        resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr, exitCode: code ?? (signal ? 128 : 1) });
      });
      // A command that exits before reading its stdin closes the pipe: not an error here.
      child.stdin.on('error', () => undefined);
      child.stdin.end(cmd.stdin ?? '');
    });
  }
}

/** The first line of a command's error output, trimmed, for messages users see. */
export function firstErrorLine(r: CommandResult): string {
  const lines = r.stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  // sbatch prints "sbatch: error: <detail>" lines, the last being the generic "submission failed".
  return (lines[0] ?? `exit code ${r.exitCode}`).slice(0, 500);
}
