import { Command } from 'commander'
import { getJson } from './http-get.js'

export function healthCommand(): Command {
  const health = new Command('health').description('check a running gateway or token server')
  for (const which of ['alive', 'ready'] as const) {
    health
      .command(which)
      .description(`GET /health/${which}; exits 1 unless it answers 200`)
      .requiredOption('-e, --endpoint <url>', 'API endpoint, e.g. http://127.0.0.1:4456')
      .action(async (opts: { endpoint: string }) => {
        const { status, body } = await getJson(opts.endpoint, `/health/${which}`)
        process.stdout.write(`${JSON.stringify(body)}\n`)
        if (status !== 200) process.exitCode = 1
      })
  }
  return health
}
