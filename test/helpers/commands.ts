import type { Test } from 'tap'
import { run } from './cli.js'

/** The value of `-c x` / `--config x` style options in a command line (every occurrence). */
export function optionValues(args: readonly string[], ...names: string[]): string[] {
  const out: string[] = []
  args.forEach((a, i) => {
    if (names.includes(a) && i + 1 < args.length) out.push(args[i + 1]!)
    for (const n of names) if (a.startsWith(`${n}=`)) out.push(a.slice(n.length + 1))
  })
  return out
}

/**
 * Checks that a `gatehouse …` command line written in a deployment file would run: the words
 * before the first option name a real verb (its `--help` exits 0 through the built CLI), and
 * every option it passes is one that verb lists.
 */
export async function checkCommand(t: Test, args: readonly string[], what: string): Promise<void> {
  const first = args.findIndex((a) => a.startsWith('-'))
  const verb = first === -1 ? args : args.slice(0, first)
  const help = await run([...verb, '--help'])
  // An unknown verb can still print some help (the parent's), so check the help is the verb's:
  // its usage line names the commands, and the remaining words fit its positional arguments.
  const usage = (/^Usage: gatehouse(.*)$/m.exec(help.stdout)?.[1] ?? '').trim().split(/\s+/).filter((w) => w !== '')
  const firstArg = usage.findIndex((w) => /^[[<]/.test(w))
  const names = firstArg === -1 ? usage : usage.slice(0, firstArg)
  const positionals = usage.filter((w) => /^[[<]/.test(w) && w !== '[options]' && w !== '[command]').length
  const known = help.code === 0 && names.every((n, i) => verb[i] === n) && verb.length - names.length <= positionals
  t.ok(known, `${what}: \`gatehouse ${verb.join(' ')}\` exists${known ? '' : ` (help shows: gatehouse ${usage.join(' ')}) ${help.stderr.trim()}`}`)
  for (const a of args) {
    if (!a.startsWith('-')) continue
    const name = a.split('=')[0]!
    const listed = new RegExp(`(^|[\\s,])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([\\s,=]|$)`, 'm').test(help.stdout)
    t.ok(listed, `${what}: ${name} is an option of \`gatehouse ${verb.join(' ')}\``)
  }
}
