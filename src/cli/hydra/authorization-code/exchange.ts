import { CliError, UnreachableError } from '../errors.js'
import { callApi, type Target } from '../http.js'
import { asTokenAnswer, type TokenAnswer } from '../token-view.js'

/** How the client authenticates at the token endpoint. */
export interface ClientAuth {
  readonly clientId: string
  /** Empty: a public client (token_endpoint_auth_method `none`), which sends only its client_id. */
  readonly clientSecret: string
}

const WHAT = 'Unable to exchange code for token'

/**
 * Trades the code for tokens (RFC 6749 §4.1.3, with the PKCE verifier of RFC 7636 §4.5). A
 * confidential client authenticates with HTTP Basic (client_secret_basic, Hydra's default); a
 * public one names itself with client_id in the body. `-H` headers and `--skip-tls-verify` apply.
 * @throws CliError saying why, in the token endpoint's own words when it sent an OAuth error.
 */
export async function exchangeCode(
  tokenEndpoint: Target,
  client: ClientAuth,
  grant: { readonly code: string; readonly redirectUri: string; readonly codeVerifier: string },
): Promise<TokenAnswer> {
  const isPublic = client.clientSecret === ''
  let res
  try {
    res = await callApi(tokenEndpoint, {
      method: 'POST',
      // The target's base is the token URL itself (--token-url may be anywhere).
      path: '',
      form: {
        grant_type: 'authorization_code',
        code: grant.code,
        redirect_uri: grant.redirectUri,
        code_verifier: grant.codeVerifier,
        client_id: isPublic ? client.clientId : undefined,
      },
      ...(isPublic ? {} : { basic: { id: client.clientId, secret: client.clientSecret } }),
      what: WHAT,
    })
  } catch (err) {
    if (!(err instanceof UnreachableError)) throw err
    // Its message points at --endpoint; here it is the token URL that did not answer.
    throw new CliError(`${WHAT}: no answer from ${tokenEndpoint.base.href} (${err.reason})`)
  }
  return asTokenAnswer(res.body, WHAT)
}
