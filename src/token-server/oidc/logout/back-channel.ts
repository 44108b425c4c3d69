/**
 * OpenID Connect Back-Channel Logout 1.0 as Hydra performs it (executeBackChannelLogout): one
 * logout token per client, signed with the ID token key set, POSTed as a form to the client's
 * `backchannel_logout_uri`. The tokens are signed before the browser is answered; the deliveries
 * run in the background, each bounded in time, and a failure is logged, never shown to the user,
 * never retried (Hydra does not retry either beyond its HTTP client's connection retries).
 */
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { SignJWT } from 'jose'
import { request } from 'undici'
import { ID_TOKEN_SET, type KeyManager } from '../../keys.js'
import type { ClientRecord } from '../../store/types.js'

/** The event a logout token carries (Back-Channel Logout §2.4). */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout'

/** Hydra's per-delivery deadline. */
const DELIVERY_TIMEOUT_MS = 30_000
/**
 * How long a logout token is valid. Hydra sends none; Back-Channel Logout 1.0 (final) requires
 * `exp` and suggests about two minutes. A receiver written for Hydra ignores it.
 */
const LOGOUT_TOKEN_SECONDS = 120

export interface BackChannelDeps {
  readonly keys: KeyManager
  readonly logger: Logger
  /** `urls.self.issuer`, the token's `iss`. */
  readonly issuer: string
}

/** One server's back-channel deliveries: started by logouts, awaited (or cut short) at shutdown. */
export class BackChannelLogout {
  readonly #inFlight = new Set<{ done: Promise<void>; abort: AbortController }>()

  constructor(
    private readonly deps: BackChannelDeps,
    private readonly timeoutMs = DELIVERY_TIMEOUT_MS,
  ) {}

  /**
   * Signs a logout token for each client with a `backchannel_logout_uri`, then starts delivering
   * them; resolves once signed, before any delivery ends. The token names the session (`sid`)
   * and no `sub`, as Hydra's: with pairwise or forced subject identifiers the subject a client
   * knows cannot be recovered here, and the spec asks for one of the two.
   */
  async notify(clients: readonly ClientRecord[], sid: string): Promise<void> {
    const tasks: { url: string; clientId: string; token: string }[] = []
    for (const c of clients) {
      const url = c.data.backchannel_logout_uri
      if (typeof url !== 'string' || url === '') continue
      tasks.push({ url, clientId: c.client_id, token: await this.logoutToken(c.client_id, sid) })
    }
    for (const t of tasks) this.#start(t.url, t.clientId, t.token)
  }

  /** Waits for the deliveries in flight, at most `graceMs`; those still running are aborted. */
  async settle(graceMs: number): Promise<void> {
    if (this.#inFlight.size === 0) return
    let timer: NodeJS.Timeout | undefined
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs)
      timer.unref()
    })
    await Promise.race([Promise.all([...this.#inFlight].map((d) => d.done)), grace])
    clearTimeout(timer)
    for (const d of this.#inFlight) d.abort.abort()
    await Promise.all([...this.#inFlight].map((d) => d.done))
  }

  async logoutToken(clientId: string, sid: string): Promise<string> {
    const key = await this.deps.keys.signingKey(ID_TOKEN_SET, 'RS256')
    const now = Math.floor(Date.now() / 1000)
    return new SignJWT({
      iss: this.deps.issuer,
      aud: [clientId],
      iat: now,
      exp: now + LOGOUT_TOKEN_SECONDS,
      jti: randomUUID(),
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
      sid,
    })
      // Hydra's header: typ JWT (not the spec's optional `logout+jwt`, which receivers built for
      // Hydra may not expect), with the signing key's kid.
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
      .sign(key.key)
  }

  #start(url: string, clientId: string, token: string): void {
    const abort = new AbortController()
    const entry = { abort, done: Promise.resolve() }
    entry.done = this.#deliver(url, clientId, token, abort.signal).finally(() => this.#inFlight.delete(entry))
    this.#inFlight.add(entry)
  }

  async #deliver(url: string, clientId: string, token: string, shutdown: AbortSignal): Promise<void> {
    const log = this.deps.logger.child({ client_id: clientId, backchannel_logout_url: url })
    try {
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: token }).toString(),
        signal: AbortSignal.any([shutdown, AbortSignal.timeout(this.timeoutMs)]),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      })
      // The answer's body means nothing here; dropping it frees the connection.
      await res.body.dump()
      if (res.statusCode !== 200 && res.statusCode !== 204) {
        log.error({ status: res.statusCode }, 'Unable to execute OpenID Connect Back-Channel Logout Request: expected HTTP status code 200 or 204')
        return
      }
      log.info('Back-Channel Logout Request')
    } catch (err) {
      log.error({ err: (err as Error).message }, 'Unable to execute OpenID Connect Back-Channel Logout Request')
    }
  }
}
