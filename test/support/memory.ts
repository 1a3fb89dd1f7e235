// The peak resident memory of a child process, read from /proc while it runs: the bound a hostile
// script must not push the host past.
import { readFileSync } from 'node:fs';

/** Kernel figures in /proc/<pid>/status, in MB; null once the process is gone. */
function residentMb(pid: number): { hwm: number; rss: number } | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { hwm: kb('VmHWM') / 1024, rss: kb('VmRSS') / 1024 };
}

/**
 * Samples `pid` every few milliseconds until stop(). VmHWM is the kernel's own high-water mark, so
 * a peak between two samples still counts; the last sample before the process exits holds it.
 */
export function watchPeakRss(pid: number, everyMs = 10): { stop(): number } {
  let peak = 0;
  const sample = () => {
    const figures = residentMb(pid);
    if (figures) peak = Math.max(peak, figures.hwm, figures.rss);
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return Math.round(peak);
    },
  };
}
