/**
 * Crash points for the reliability tests: when GRIT_FAULT names a point, the process kills itself
 * there with SIGKILL, exactly as a power cut or `kill -9` would. Unset, this is one env lookup.
 */
export type FaultPoint = 'wal:after-objects' | 'write:after-append';

export function crashPoint(point: FaultPoint): void {
  if (process.env.GRIT_FAULT === point) process.kill(process.pid, 'SIGKILL');
}
