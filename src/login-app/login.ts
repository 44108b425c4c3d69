/**
 * `/login`: Hydra's login step. GET reads the login request; when the token server already knows
 * the user (`skip`), it is accepted at once with the request's subject, else the form is shown.
 * POST checks the user's password against the users file and accepts (or, on "deny", rejects).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { LoginRequest } from './admin-api.js'
import { ACCESS_DENIED, type AppContext } from './context.js'
import { field, readForm } from './form.js'
import { html, redirect, sendError, sendPage } from './html.js'

const PURPOSE = 'login'

/** GET /login?login_challenge=: skip → accept at once; otherwise the sign-in form. */
export async function getLogin(ctx: AppContext, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
  const challenge = query.get('login_challenge') ?? ''
  if (challenge === '') return sendError(res, 400, 'The login_challenge parameter is missing: start from the application you want to sign in to.')
  const login = await ctx.admin.getLogin(challenge)
  if (login.skip) {
    // The token server remembers this user (a "remember me" login): nothing to ask.
    return redirect(res, await ctx.admin.acceptLogin(challenge, { subject: login.subject }))
  }
  loginPage(ctx, req, res, login)
}

/** POST /login: deny → reject; a known user with the right password → accept; else the form again. */
export async function postLogin(ctx: AppContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const form = await readForm(req)
  const challenge = field(form, 'challenge')
  if (!ctx.csrf.check(req, PURPOSE, challenge, field(form, 'csrf'))) {
    return sendError(res, 403, 'This form has expired or did not come from this site. Go back and load the page again.')
  }
  if (field(form, 'action') === 'deny') return redirect(res, (await ctx.admin.reject('login', challenge, ACCESS_DENIED))!)
  const username = field(form, 'username')
  const user = await ctx.users.authenticate(username, field(form, 'password'))
  if (user === undefined) {
    // One message for an unknown name and a wrong password: the page does not say which users exist.
    const login = await ctx.admin.getLogin(challenge)
    return loginPage(ctx, req, res, login, { username, error: 'The user name or the password is wrong.' })
  }
  const remember = form.get('remember') === 'on'
  const to = await ctx.admin.acceptLogin(challenge, {
    subject: user.subject,
    remember,
    // Hydra reads remember_for 0 as "for ever": sent only with remember.
    ...(remember ? { remember_for: ctx.rememberFor } : {}),
    // As Hydra's reference login app: assurance level 0 (a password, no second factor)…
    acr: '0',
    // …and the method, RFC 8176's name for a password.
    amr: ['pwd'],
  })
  ctx.logger.info({ subject: user.subject }, 'login accepted')
  redirect(res, to)
}

function loginPage(
  ctx: AppContext,
  req: IncomingMessage,
  res: ServerResponse,
  login: LoginRequest,
  shown: { username?: string; error?: string } = {},
): void {
  const csrf = ctx.csrf.issue(req, res, PURPOSE, login.challenge)
  const client = login.client.client_name || login.client.client_id || 'an application'
  sendPage(
    res,
    200,
    'Sign in',
    html`<h1>Sign in</h1>
<p class="muted">to continue to <strong>${client}</strong></p>
${shown.error === undefined ? '' : html`<p class="error" role="alert">${shown.error}</p>`}
<form method="post" action="/login">
<input type="hidden" name="challenge" value="${login.challenge}">
<input type="hidden" name="csrf" value="${csrf}">
<label>User name<input type="text" name="username" autocomplete="username" autofocus required value="${shown.username ?? ''}"></label>
<label>Password<input type="password" name="password" autocomplete="current-password" required></label>
<label><input type="checkbox" name="remember"> Remember me</label>
<button type="submit" name="action" value="login">Sign in</button><button type="submit" name="action" value="deny" class="secondary" formnovalidate>Deny</button>
</form>`,
  )
}
