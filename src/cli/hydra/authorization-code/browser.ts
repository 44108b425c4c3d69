import { spawn } from 'node:child_process'

/**
 * Opens `url` in the user's browser the way each desktop does it (`open` on macOS, the URL
 * protocol handler on Windows, `xdg-open` elsewhere), as Hydra's CLI does, and ignores every
 * failure: with no browser (a server, a container) the URL printed on stderr is the way in.
 */
export function openBrowser(url: string, platform: NodeJS.Platform = process.platform): void {
  const [command, args] =
    platform === 'darwin' ? ['open', [url]] : platform === 'win32' ? ['rundll32', ['url.dll,FileProtocolHandler', url]] : ['xdg-open', [url]]
  try {
    // Detached and unreferenced: the browser outlives this command and must not hold it open.
    const child = spawn(command, args, { stdio: 'ignore', detached: true })
    child.on('error', () => undefined) // ENOENT when there is no such program
    child.unref()
  } catch {
    // spawn throws synchronously only on bad arguments; a browser is never worth failing for.
  }
}
