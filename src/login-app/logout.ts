/**
 * `/logout`: Hydra's logout step. GET reads the logout request and asks the user to confirm;
 * POST accepts (the token server ends the session and sends the browser on) or rejects (Hydra
 * answers 204 and the user stays signed in, which the page says).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ACCESS_DENIED, type AppContext } from './context.js'
import { field, readForm } from './form.js'
import { html, redirect, sendError, sendPage } from './html.js'

const PURPOSE = 'logout'

/** GET /logout?logout_challenge=: the confirmation page. */
export async function getLogout(ctx: AppContext, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
  const challenge = query.get('logout_challenge') ?? ''
  if (challenge === '') return sendError(res, 400, 'The logout_challenge parameter is missing.')
  const logout = await ctx.admin.getLogout(challenge)
  const csrf = ctx.csrf.issue(req, res, PURPOSE, challenge)
  const client = logout.client?.client_name || logout.client?.client_id
  sendPage(
    res,
    200,
    'Sign out',
    html`<h1>Sign out?</h1>
<p>${logout.subject ? html`You are signed in as <strong>${logout.subject}</strong>. ` : ''}${
      client ? html`<strong>${client}</strong> asks to sign you out.` : 'Do you want to sign out?'
    }</p>
<form method="post" action="/logout">
<input type="hidden" name="challenge" value="${challenge}">
<input type="hidden" name="csrf" value="${csrf}">
<button type="submit" name="action" value="accept">Sign out</button><button type="submit" name="action" value="reject" class="secondary">Stay signed in</button>
</form>`,
  )
}

/** POST /logout: accept → on to redirect_to; reject → a page saying nothing changed. */
export async function postLogout(ctx: AppContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const form = await readForm(req)
  const challenge = field(form, 'challenge')
  if (!ctx.csrf.check(req, PURPOSE, challenge, field(form, 'csrf'))) {
    return sendError(res, 403, 'This form has expired or did not come from this site. Go back and load the page again.')
  }
  if (field(form, 'action') === 'accept') return redirect(res, await ctx.admin.acceptLogout(challenge))
  await ctx.admin.reject('logout', challenge, ACCESS_DENIED)
  sendPage(res, 200, 'Still signed in', html`<h1>You are still signed in</h1><p>Nothing was changed.</p>`)
}
