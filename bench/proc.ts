import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** How the peak RSS of a child is measured (stated in the output). */
export const RSS_METHOD = existsSync('/usr/bin/time')
  ? '/usr/bin/time -f %M (max resident set size of the child, measured by the kernel from outside)'
  : 'process.resourceUsage().maxRSS reported by the child itself (no /usr/bin/time on this machine)';

export interface ProcessRun {
  /** Wall time from spawn to exit, measured by this (parent) process. */
  ms: number;
  /** Peak resident set size of the child, in bytes. */
  peakRss: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node <args>` (this Node binary) as a child and measures its wall time and peak RSS.
 * With /usr/bin/time the RSS is the kernel's high-water mark of the node process (time itself is
 * not counted: it only forks and waits).
 */
export async function runNode(
  args: string[],
  options: { tmp: string; env?: NodeJS.ProcessEnv; cwd?: string; selfReportedRssKb?: (stdout: string) => number | undefined; onStderr?: (chunk: string) => void },
): Promise<ProcessRun> {
  const useTime = existsSync('/usr/bin/time');
  const rssFile = join(options.tmp, `rss-${process.pid}-${Math.random().toString(36).slice(2)}.txt`);
  const command = useTime ? '/usr/bin/time' : process.execPath;
  const argv = useTime ? ['-f', '%M', '-o', rssFile, process.execPath, ...args] : args;
  const started = performance.now();
  const child = spawn(command, argv, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    options.onStderr?.(String(chunk));
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const ms = performance.now() - started;
  if (code !== 0) throw new Error(`node ${args.join(' ')} exited with ${code}: ${stderr.trim().slice(-2000)}`);
  let peakRss = 0;
  if (useTime) {
    peakRss = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) * 1024;
    rmSync(rssFile, { force: true });
  } else {
    peakRss = (options.selfReportedRssKb?.(stdout) ?? 0) * 1024;
  }
  return { ms, peakRss, stdout, stderr };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
