// Where each process of bench/run.js runs (taskset), and what the measured server uses while
// under load (RSS and CPU from /proc). See bench/README.md, "Cores".
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'

/**
 * Which cores each role gets, as taskset lists ('0', '2-5'), or undefined when nothing is pinned
 * (no taskset, or fewer than two cores). The proxy under test always has a core of its own, so
 * that "per core" means one core; the load generator gets the rest.
 * - 2 cores: proxy on the second; load generator, upstream and token server share the first.
 * - 3 cores: proxy on the third, upstream and token server on the second, load on the first.
 * - more: proxy on the last, upstream and token server on the one before, load on the others.
 * @param {number[]} cpus the cores this process may use, ascending
 * @returns {{ load: string, servers: string, proxy: string } | undefined}
 */
export function coreLayout(cpus) {
  if (cpus.length < 2) return undefined
  const list = (cs) => cs.join(',')
  const proxy = String(cpus.at(-1))
  if (cpus.length === 2) return { load: String(cpus[0]), servers: String(cpus[0]), proxy }
  return { load: list(cpus.slice(0, -2)), servers: String(cpus.at(-2)), proxy }
}

/**
 * A taskset list ('0-2,5') as the numbers it names.
 * @param {string} text
 * @returns {number[]}
 */
export function parseCpuList(text) {
  const out = []
  for (const part of text.trim().split(',')) {
    if (part === '') continue
    const [lo, hi = lo] = part.split('-').map(Number)
    for (let c = lo; c <= hi; c++) out.push(c)
  }
  return out
}

/** The cores this process may run on (its affinity), falling back to 0..n-1 off Linux. */
export function allowedCpus() {
  try {
    const m = /^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))
    if (m) return parseCpuList(m[1])
  } catch {
    // not Linux: no /proc
  }
  return Array.from({ length: availableParallelism() }, (_, i) => i)
}

export function hasTaskset() {
  return spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0
}

/** Moves every thread of a running process onto `cpus` (threads it starts later inherit it). */
export function pin(pid, cpus) {
  const r = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`taskset -a -p -c ${cpus} ${pid} failed: ${r.stderr}`)
}

/** The first child process of pid (nginx's worker under its master), or undefined. */
export function firstChild(pid) {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()
    return kids === '' ? undefined : Number(kids.split(' ')[0])
  } catch {
    return undefined
  }
}

const CLOCK_TICKS = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })
  return Number(r.stdout) || 100
})()

/** Resident memory in MiB and CPU seconds used so far, or undefined when /proc has no such process. */
function readProc(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the parenthesised name: state is field 3, utime 14 and stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const rssKb = Number(/^VmRSS:\s*(\d+)/m.exec(status)?.[1])
    return { rssMiB: rssKb / 1024, cpuS: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS }
  } catch {
    return undefined
  }
}

/**
 * Samples a process's VmRSS every `everyMs` until stop(), which returns the largest RSS seen
 * (MiB), the CPU seconds the process used in between (all its threads, user and system) and
 * that as a share of one core (1 = a whole core); all undefined where /proc cannot be read.
 * @returns {{ stop: () => { maxRssMiB: number | undefined, cpuS: number | undefined, cpu: number | undefined } }}
 */
export function sampleProcess(pid, everyMs = 200) {
  const first = readProc(pid)
  const started = process.hrtime.bigint()
  let maxRss = first?.rssMiB
  const timer = setInterval(() => {
    const now = readProc(pid)
    if (now !== undefined) maxRss = Math.max(maxRss ?? 0, now.rssMiB)
  }, everyMs)
  return {
    stop() {
      clearInterval(timer)
      const last = readProc(pid)
      if (last !== undefined) maxRss = Math.max(maxRss ?? 0, last.rssMiB)
      const wallS = Number(process.hrtime.bigint() - started) / 1e9
      const cpuS = first !== undefined && last !== undefined ? last.cpuS - first.cpuS : undefined
      return { maxRssMiB: maxRss, cpuS, cpu: cpuS !== undefined && wallS > 0 ? cpuS / wallS : undefined }
    },
  }
}
