/**
 * CPU time (user + system, milliseconds) this process spent while `fn` ran. Property tests bound
 * work with it rather than with wall-clock time, which other processes on a loaded CI machine
 * stretch: a runaway regex or loop costs seconds of CPU, a slow machine does not.
 */
export function cpuMs<T>(fn: () => T): { value: T; ms: number } {
  const before = process.cpuUsage()
  const value = fn()
  const used = process.cpuUsage(before)
  return { value, ms: (used.user + used.system) / 1000 }
}
