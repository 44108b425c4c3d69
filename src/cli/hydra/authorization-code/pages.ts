/**
 * The pages the local callback server shows in the browser, with the content of Hydra's CLI
 * (welcome, result, error). Every value is HTML-escaped: error texts come from the query string
 * of a request anyone on this machine can send.
 */

/** The start page: a link that begins the flow. */
export function welcomePage(authorizationUrl: string): string {
  return page(
    'Authorize application',
    `<h1>Welcome to the example OAuth 2.0 Consumer!</h1>
<p>This example app acts as an OAuth 2.0 client. It requests an access token, a refresh token and an
OpenID Connect ID token from the authorization server. To start the flow, follow the link.</p>
<p><a href="${escapeHtml(authorizationUrl)}">Authorize application</a></p>`,
  )
}

/** The tokens, after a successful exchange; `backUrl` when the server stays up for another flow. */
export function resultPage(t: { accessToken: string; refreshToken: string; idToken: string; expiry: string; backUrl?: string | undefined }): string {
  const back = t.backUrl === undefined ? '' : `\n<a href="${escapeHtml(t.backUrl)}">Back to the welcome page</a>`
  return page(
    'Tokens',
    `<ul>
<li>Access Token: <code>${escapeHtml(t.accessToken)}</code></li>
<li>Refresh Token: <code>${escapeHtml(t.refreshToken)}</code></li>
<li>Expires at: <code>${escapeHtml(t.expiry)}</code></li>
<li>ID Token: <code>${escapeHtml(t.idToken)}</code></li>
</ul>${back}`,
  )
}

/** A failed flow: the OAuth error (or our own), its description, and Ory's hint and debug fields when sent. */
export function errorPage(e: { name: string; description?: string | undefined; hint?: string | undefined; debug?: string | undefined }): string {
  const p = (s: string | undefined): string => (s === undefined || s === '' ? '' : `\n<p>${escapeHtml(s)}</p>`)
  return page('An error occurred', `<h1>An error occurred</h1>\n<h2>${escapeHtml(e.name)}</h2>${p(e.description)}${p(e.hint)}${p(e.debug)}`)
}

function page(title: string, body: string): string {
  return `<!doctype html>\n<html>\n<head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>\n<body>\n${body}\n</body>\n</html>\n`
}

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Text made safe for HTML element content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ENTITIES[c]!)
}
