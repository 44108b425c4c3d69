/**
 * `/consent`: Hydra's consent step. GET reads the consent request; when the user has consented
 * before (`skip`) it is accepted at once with what was requested, else the page lists the client,
 * each requested scope (a checkbox) and the audience. POST grants the scopes left checked, never
 * more than were requested, with the user's claims for the ID token, or rejects.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ConsentRequest } from './admin-api.js'
import { ACCESS_DENIED, type AppContext } from './context.js'
import { field, readForm } from './form.js'
import { html, redirect, sendError, sendPage } from './html.js'
import { claimsFor } from './users.js'

const PURPOSE = 'consent'

/** Plain words for the scopes people meet most; any other scope is shown by its name. */
const SCOPE_WORDS: Readonly<Record<string, string>> = {
  openid: 'know who you are',
  offline_access: 'stay signed in (refresh tokens)',
  offline: 'stay signed in (refresh tokens)',
  profile: 'see your name and profile',
  email: 'see your email address',
  address: 'see your address',
  phone: 'see your phone number',
}

/** GET /consent?consent_challenge=: skip → accept as requested; otherwise the consent page. */
export async function getConsent(ctx: AppContext, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
  const challenge = query.get('consent_challenge') ?? ''
  if (challenge === '') return sendError(res, 400, 'The consent_challenge parameter is missing: start from the application you want to sign in to.')
  const consent = await ctx.admin.getConsent(challenge)
  if (consent.skip === true) {
    // Consent given before (remembered, or a first-party client with skip_consent): grant as requested.
    return redirect(res, await accept(ctx, consent, consent.requested_scope ?? [], false))
  }
  consentPage(ctx, req, res, consent)
}

/** POST /consent: allow → accept the checked scopes that were requested; anything else → reject. */
export async function postConsent(ctx: AppContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const form = await readForm(req)
  const challenge = field(form, 'challenge')
  if (!ctx.csrf.check(req, PURPOSE, challenge, field(form, 'csrf'))) {
    return sendError(res, 403, 'This form has expired or did not come from this site. Go back and load the page again.')
  }
  if (field(form, 'action') !== 'allow') return redirect(res, (await ctx.admin.reject('consent', challenge, ACCESS_DENIED))!)
  // Read again rather than trusted from the form: a form edited to add a scope grants nothing more.
  const consent = await ctx.admin.getConsent(challenge)
  const checked = new Set(form.getAll('scope'))
  const granted = (consent.requested_scope ?? []).filter((s) => checked.has(s))
  redirect(res, await accept(ctx, consent, granted, form.get('remember') === 'on'))
}

function accept(ctx: AppContext, consent: ConsentRequest, granted: readonly string[], remember: boolean): Promise<string> {
  const user = consent.subject === undefined ? undefined : ctx.users.bySubject(consent.subject)
  return ctx.admin.acceptConsent(consent.challenge, {
    grant_scope: granted,
    grant_access_token_audience: consent.requested_access_token_audience ?? [],
    remember,
    // Hydra reads remember_for 0 as "for ever": sent only with remember.
    ...(remember ? { remember_for: ctx.rememberFor } : {}),
    session: { id_token: claimsFor(user, granted) },
  })
}

function consentPage(ctx: AppContext, req: IncomingMessage, res: ServerResponse, consent: ConsentRequest): void {
  const csrf = ctx.csrf.issue(req, res, PURPOSE, consent.challenge)
  const client = consent.client?.client_name || consent.client?.client_id || 'An application'
  const scopes = consent.requested_scope ?? []
  const audience = consent.requested_access_token_audience ?? []
  sendPage(
    res,
    200,
    'Allow access',
    html`<h1>Allow access?</h1>
<p><strong>${client}</strong> asks to act for <strong>${consent.subject ?? ''}</strong>:</p>
<form method="post" action="/consent">
<input type="hidden" name="challenge" value="${consent.challenge}">
<input type="hidden" name="csrf" value="${csrf}">
<ul class="scopes">${scopes.map(
      (s) => html`<li><label><input type="checkbox" name="scope" value="${s}" checked> <code>${s}</code>${
        SCOPE_WORDS[s] === undefined ? '' : html` <span class="muted">(${SCOPE_WORDS[s]})</span>`
      }</label></li>`,
    )}</ul>
${audience.length === 0 ? '' : html`<p class="muted">Its tokens will be accepted by: ${audience.join(', ')}</p>`}
<label><input type="checkbox" name="remember"> Remember this decision</label>
<button type="submit" name="action" value="allow">Allow</button><button type="submit" name="action" value="deny" class="secondary">Deny</button>
</form>`,
  )
}
