import { Command, Option } from 'commander'
import { ConfigError } from '../errors.js'
import { accessRulesJson, CONFIGMAP_DEFAULTS, configMapsYaml, manifestsYaml, optionProblems } from '../rules/maester-output.js'
import { readRuleDocument, type ParsedRule } from '../rules/parse.js'
import { openRepository } from '../rules/repository/index.js'

type Format = 'json' | 'configmap' | 'manifests'

interface ConvertOptions {
  format: Format
  namespace?: string
  name: string
  key: string
}

/** `gatehouse rules convert`: Oathkeeper rule files ⇄ what Oathkeeper Maester reads and writes. */
export function convertCommand(): Command {
  return new Command('convert')
    .description(
      'convert rule files (Oathkeeper arrays or Kubernetes Rule manifests) to what Oathkeeper Maester writes: ' +
        '`json` = the access-rules.json array, `configmap` = the oathkeeper-rules ConfigMap (kubectl apply -f -); ' +
        'or back: `manifests` = Rule manifests for rules kept as files. Only the format is checked (see `rules validate`); exits 1 listing every problem',
    )
    .argument('<paths...>', 'rule files or directories (*.json, *.yaml, *.yml inside, recursively)')
    .addOption(new Option('--format <format>', 'what to write').choices(['json', 'configmap', 'manifests']).default('json'))
    .option('--namespace <namespace>', 'configmap: the ConfigMap\'s namespace; manifests: the namespace of Rules made from Oathkeeper rules (default: none, so kubectl apply -n decides)')
    .option('--name <name>', 'configmap: the ConfigMap\'s name (Maester\'s rulesConfigmapName)', CONFIGMAP_DEFAULTS.name)
    .option('--key <key>', 'configmap: the data key holding the rules (Maester\'s rulesFileName)', CONFIGMAP_DEFAULTS.key)
    .action(async (paths: string[], opts: ConvertOptions) => {
      const { output, notes, problems } = await convert(paths, opts)
      for (const n of notes) process.stderr.write(`note: ${n}\n`)
      if (problems.length > 0) {
        process.stderr.write(`${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}\n`)
        process.exitCode = 1
        return
      }
      process.stdout.write(output.endsWith('\n') || output === '' ? output : `${output}\n`)
    })
}

/** Reads every path and converts; nothing is written when any source has a problem. */
export async function convert(paths: readonly string[], opts: ConvertOptions): Promise<{ output: string; notes: readonly string[]; problems: readonly string[] }> {
  const problems = optionProblems(opts)
  const { rules, problems: readProblems } = await readRules(paths)
  problems.push(...readProblems)
  if (problems.length > 0) return { output: '', notes: [], problems }
  switch (opts.format) {
    case 'json':
      return { output: accessRulesJson(rules.map((r) => r.spec)), notes: [], problems }
    case 'configmap':
      return { output: configMapsYaml(rules, opts), notes: [], problems }
    case 'manifests': {
      const out = manifestsYaml(rules, opts)
      return { output: out.yaml, notes: out.notes, problems: out.problems }
    }
  }
}

/** Every rule of every path, in repository order; ids must be unique across them, as in a gateway. */
async function readRules(paths: readonly string[]): Promise<{ rules: (ParsedRule & { source: string })[]; problems: string[] }> {
  const rules: (ParsedRule & { source: string })[] = []
  const problems: string[] = []
  const seen = new Map<string, string>()
  for (const [i, path] of paths.entries()) {
    let repo
    try {
      repo = openRepository(path, i, { cwd: process.cwd(), pollIntervalMs: 0 })
    } catch (err) {
      // e.g. an unsupported scheme; the message names the config key, here it is an argument
      problems.push((err as Error).message.replace(/^access_rules\.repositories\[\d+\]: /, `${path}: `))
      continue
    }
    const reads = await repo.scan()
    await repo.close()
    for (const read of reads) {
      if ('error' in read) {
        problems.push(read.error) // already names the source
        continue
      }
      try {
        for (const r of readRuleDocument(read.text, read.source)) {
          const other = seen.get(r.spec.id)
          if (other !== undefined) problems.push(`${read.source}: ${r.label}: duplicate id, already defined in ${other}`)
          else seen.set(r.spec.id, read.source)
          rules.push({ ...r, source: read.source })
        }
      } catch (err) {
        problems.push(...(err instanceof ConfigError ? err.problems : [`${read.source}: ${(err as Error).message}`]))
      }
    }
  }
  return { rules, problems }
}
