import { formatDuration } from '../../../config/duration.js'
import { CliError } from '../errors.js'
import type { Target } from '../http.js'
import { printRow, type OutputOptions } from '../output.js'
import { tokenRow } from '../token-view.js'
import { openBrowser } from './browser.js'
import { startCallbackServer } from './callback-server.js'
import { exchangeCode, type ClientAuth } from './exchange.js'
import { errorPage, resultPage } from './pages.js'
import { newAuthorization, type AuthorizationFlow, type RequestSettings } from './request.js'
import { selfSignedCertificate } from './self-signed.js'

/** Everything `perform authorization-code` needs, checked and resolved from its flags. */
export interface PerformSettings {
  /** The authorization request, less the redirect URI, which may depend on the port bound. */
  readonly request: Omit<RequestSettings, 'redirectUri'>
  /** `--redirect`; default: this server's /callback. */
  readonly redirect?: string | undefined
  readonly client: ClientAuth
  /** The token endpoint, with the `-H` headers and TLS setting of the common flags. */
  readonly token: Target
  readonly port: number
  readonly https: boolean
  /** false with `--no-open`. */
  readonly open: boolean
  /** false with `--no-shutdown`: serve one flow after another until interrupted. */
  readonly shutdown: boolean
  /** How long to wait for the browser to come back; 0: no limit. Not used with --no-shutdown. */
  readonly timeoutMs: number
  readonly output: OutputOptions
}

/**
 * Runs Hydra's example OAuth 2.0 client: serves the local pages, waits for the authorization
 * server to redirect back, checks the state, trades the code (with its PKCE verifier) for tokens
 * and prints them. Resolves after one flow, or never with `--no-shutdown`.
 * @throws CliError when the flow fails (an error callback, a state mismatch, a refused exchange) or times out.
 */
export async function performAuthorizationCode(s: PerformSettings): Promise<void> {
  const callbackPath = callbackPathOf(s.redirect)
  // Set once the server listens (the default redirect URI needs the port); no request comes before.
  let location = ''
  let current: AuthorizationFlow | undefined
  let settings: RequestSettings | undefined
  let done: ((err?: CliError) => void) | undefined

  const server = await startCallbackServer({
    port: s.port,
    tls: s.https ? selfSignedCertificate() : undefined,
    callbackPath,
    routes: {
      authorizationUrl: () => (current ??= newAuthorization(settings!)).url,
      callback: async (params) => {
        const flow = current
        if (flow === undefined) return { status: 409, html: errorPage({ name: 'No authorization in progress', description: `Start one at ${location}` }) }
        // Each flow's state, nonce and verifier are used once; with --no-shutdown the next flow gets new ones (as in Hydra).
        current = s.shutdown ? undefined : newAuthorization(settings!)
        const outcome = await complete(s, flow, settings!.redirectUri, params, location)
        const page = outcome.error === undefined ? outcome.page : errorPage(outcome.page)
        if (s.shutdown) return { status: outcome.error === undefined ? 200 : 500, html: page, afterSent: () => done?.(outcome.error) }
        if (outcome.error !== undefined) process.stderr.write(`error: ${outcome.error.message}\n`)
        return { status: outcome.error === undefined ? 200 : 500, html: page }
      },
    },
  })
  location = server.location
  settings = { ...s.request, redirectUri: s.redirect ?? `${location}${callbackPath.slice(1)}` }
  current = newAuthorization(settings)

  const finished = new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined
    done = (err) => {
      done = undefined // the first outcome wins: a late callback or the timer must not end it twice
      if (timer !== undefined) clearTimeout(timer)
      void server.close().then(() => (err === undefined ? resolve() : reject(err)))
    }
    if (s.shutdown && s.timeoutMs > 0) {
      timer = setTimeout(() => {
        done?.(new CliError(`no answer from the authorization server within ${formatDuration(s.timeoutMs) ?? `${s.timeoutMs}ms`}; open ${location} to start the flow, or allow more time with --timeout`))
      }, s.timeoutMs)
    }
  })

  if (s.open) openBrowser(location)
  process.stderr.write(
    `Setting up home route on ${location}\n` +
      `Setting up callback listener on ${location}${callbackPath.slice(1)}\n` +
      'Press ctrl + c on Linux / Windows or cmd + c on OSX to end the process.\n' +
      `If your browser does not open automatically, navigate to:\n\n\t${location}\n\n`,
  )
  return finished
}

type Outcome = { error: undefined; page: string } | { error: CliError; page: Parameters<typeof errorPage>[0] }

/** One callback: an OAuth error, a state that is not ours, or a code to exchange. */
async function complete(s: PerformSettings, flow: AuthorizationFlow, redirectUri: string, params: URLSearchParams, home: string): Promise<Outcome> {
  const error = params.get('error')
  if (error !== null && error !== '') {
    const description = params.get('error_description') ?? ''
    const hint = params.get('error_hint') ?? ''
    const text = `${error}${description === '' ? '' : `: ${description}`}${hint === '' ? '' : ` (${hint})`}`
    return {
      error: new CliError(`the authorization server answered with an error: ${text}`),
      page: { name: error, description, hint, debug: params.get('error_debug') ?? '' },
    }
  }
  const state = params.get('state') ?? ''
  if (state !== flow.state) {
    // Hydra's words: the callback was not for the request this command made (RFC 6749 §10.12).
    const description = `States do not match. Expected ${JSON.stringify(flow.state)}, got ${JSON.stringify(state)}.`
    return { error: new CliError(description), page: { name: 'States do not match', description } }
  }
  const code = params.get('code') ?? ''
  if (code === '') {
    const description = 'The callback carried neither a code nor an error.'
    return { error: new CliError(description), page: { name: 'No authorization code', description } }
  }
  let token
  try {
    token = await exchangeCode(s.token, s.client, { code, redirectUri, codeVerifier: flow.codeVerifier })
  } catch (err) {
    const e = err instanceof CliError ? err : new CliError(`Unable to exchange code for token: ${String(err)}`)
    return { error: e, page: { name: e.message } }
  }
  const row = tokenRow(token)
  printRow(s.output, row)
  const [accessToken, refreshToken, idToken] = row.values as [string, string, string]
  const expiry = typeof token.expires_in === 'number' ? new Date(Date.now() + token.expires_in * 1000).toUTCString() : ''
  return {
    error: undefined,
    page: resultPage({ accessToken, refreshToken, idToken, expiry, backUrl: s.shutdown ? undefined : home }),
  }
}

/** The path the redirect URI has on this server; /callback unless --redirect names another. */
function callbackPathOf(redirect: string | undefined): string {
  if (redirect === undefined) return '/callback'
  const path = new URL(redirect).pathname
  // The welcome page and /perform-flow keep their paths; such a redirect URI points elsewhere anyway.
  return path === '/' || path === '/perform-flow' ? '/callback' : path
}
