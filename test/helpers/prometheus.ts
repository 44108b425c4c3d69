import { request } from 'undici'

/** One sample of the Prometheus text format: `name{labels} value`. */
export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/** A scrape: the samples, plus the # TYPE of each metric family. */
export interface Scrape {
  readonly samples: readonly Sample[]
  readonly types: ReadonlyMap<string, string>
  readonly contentType: string
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/y

/** Parses the Prometheus text exposition format (0.0.4); throws on a line it cannot read. */
export function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = []
  const types = new Map<string, string>()
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    if (line.startsWith('#')) {
      const m = /^# TYPE (\S+) (\S+)$/.exec(line)
      if (m) types.set(m[1]!, m[2]!)
      continue
    }
    const m = LINE.exec(line)
    if (!m) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    const body = m[2] ?? ''
    LABEL.lastIndex = 0
    while (LABEL.lastIndex < body.length) {
      const l = LABEL.exec(body)
      if (!l) throw new Error(`bad labels in: ${line}`)
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
    }
    const raw = m[3]!
    // Go's ParseFloat spellings, as Prometheus reads them (prom-client writes NaN as "Nan").
    const value = /^\+?inf$/i.test(raw) ? Infinity : /^-inf$/i.test(raw) ? -Infinity : /^nan$/i.test(raw) ? NaN : Number(raw)
    if (Number.isNaN(value) && !/^nan$/i.test(raw)) throw new Error(`bad value in: ${line}`)
    samples.push({ name: m[1]!, labels, value })
  }
  return { samples, types }
}

/** GETs and parses a metrics endpoint. */
export async function scrape(url: string): Promise<Scrape> {
  const res = await request(url)
  const text = await res.body.text()
  if (res.statusCode !== 200) throw new Error(`scrape of ${url} answered ${res.statusCode}: ${text}`)
  return { ...parseExposition(text), contentType: String(res.headers['content-type']) }
}

/** The value of the sample with exactly these labels; undefined when there is none. */
export function valueOf(s: Scrape, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels)
  const found = s.samples.filter(
    (x) => x.name === name && Object.keys(x.labels).length === want.length && want.every(([k, v]) => x.labels[k] === v),
  )
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`)
  return found[0]?.value
}

/** Every sample of a metric whose labels include `labels`. */
export function samplesOf(s: Scrape, name: string, labels: Record<string, string> = {}): Sample[] {
  return s.samples.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))
}
