/**
 * `GET|POST /oauth2/auth` (Hydra's oAuth2Authorize): validates the request, then takes the next
 * step of the flow: no verifier → to the login app; `login_verifier` → to the consent app;
 * `consent_verifier` → issue and deliver to the client. Every error after validation goes back
 * to the client's redirect URI in the request's response mode; errors before it (unknown client,
 * unregistered redirect URI) go to `urls.error`.
 */
import type { ErrorRenderer } from '../../http/errors.js'
import { toOAuthError } from '../../http/errors.js'
import { readForm } from '../../http/io.js'
import type { RouteContext, RouteHandler } from '../../http/router.js'
import { validateAuthorizeRequest } from './authorize-request.js'
import { completeConsent, requestConsent } from './consent.js'
import type { FlowDeps, FlowStep } from './deps.js'
import { AuthorizeError } from './errors.js'
import { nowSeconds } from './flow-records.js'
import { requestAuthentication, verifyAuthentication } from './login.js'
import { authorizeErrorRenderer } from './response-mode.js'

/** Not part of `request_url`: each visit brings its own. */
const VERIFIERS = ['login_verifier', 'consent_verifier']

export function authorizeEndpoint(deps: FlowDeps): { handler: RouteHandler; renderError: ErrorRenderer } {
  const handler = async (http: RouteContext): Promise<void> => {
    const params = await requestParams(http)
    const kept = new URLSearchParams([...params].filter(([k]) => !VERIFIERS.includes(k)))
    const requestUrl = `${deps.settings.authUrl}?${kept.toString()}`
    const now = nowSeconds()
    const auth = await validateAuthorizeRequest(deps.ctx, deps.settings, params, requestUrl, now)
    const step: FlowStep = { http, auth, now }
    try {
      const loginVerifier = (params.get('login_verifier') ?? '').trim()
      const consentVerifier = (params.get('consent_verifier') ?? '').trim()
      if (loginVerifier === '' && consentVerifier === '') await requestAuthentication(deps, step)
      else if (loginVerifier !== '') {
        const { challenge, flow } = await verifyAuthentication(deps, step, loginVerifier)
        await requestConsent(deps, step, challenge, flow)
      } else await completeConsent(deps, step, consentVerifier)
    } catch (err) {
      // From here on the client's redirect URI is trusted: every error, even an outage, goes there.
      if (err instanceof AuthorizeError) throw err
      throw new AuthorizeError(toOAuthError(err, deps.ctx.logger, '/oauth2/auth'), auth.target)
    }
  }
  return { handler, renderError: authorizeErrorRenderer(deps.settings.errorUrl) }
}

/** GET: the query. POST: the form body, then query parameters the body does not have (Go's r.Form). */
export async function requestParams({ req, query }: RouteContext): Promise<URLSearchParams> {
  if (req.method !== 'POST') return query
  const form = await readForm(req)
  for (const [k, v] of query) if (!form.has(k)) form.append(k, v)
  return form
}
