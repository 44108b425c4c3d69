/**
 * Delivering an authorization response or error to the client (OAuth 2.0 Multiple Response Type
 * Encoding Practices, Form Post Response Mode): in the redirect URI's query (303, the registered
 * URI's own query kept), in its fragment (303), or as an HTML form the browser posts there.
 * Statuses and headers as fosite's (WriteAuthorizeResponse, WriteAuthorizeError).
 */
import type { ServerResponse } from 'node:http'
import type { ErrorRenderer } from '../../http/errors.js'
import { AuthorizeError, type ErrorTarget } from './errors.js'

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' }

export function deliver(res: ServerResponse, target: Omit<ErrorTarget, 'state'>, params: Readonly<Record<string, string>>): void {
  const url = new URL(target.redirect_uri)
  url.hash = ''
  if (target.response_mode === 'form_post') {
    const html = formPostPage(url.href, params)
    res.writeHead(200, { ...NO_STORE, 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html) })
    res.end(html)
    return
  }
  let location: string
  if (target.response_mode === 'fragment') {
    const fragment = new URLSearchParams(params).toString()
    location = fragment === '' ? url.href : `${url.href}#${fragment}`
  } else {
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
    location = url.href
  }
  redirect(res, 303, location)
}

export function redirect(res: ServerResponse, status: 302 | 303, location: string): void {
  res.writeHead(status, { ...NO_STORE, location, 'content-length': '0' })
  res.end()
}

/**
 * The authorization endpoint's error renderer: an AuthorizeError with a trusted target goes back
 * to the client (with `state`); anything else goes to `urls.error` with `error` and
 * `error_description` in the query (Hydra's forwardError, 302), never to an unverified URI.
 */
export function authorizeErrorRenderer(errorUrl: string): ErrorRenderer {
  return ({ res }, err) => {
    const params: Record<string, string> = { error: err.error, error_description: err.description }
    const target = err instanceof AuthorizeError ? err.target : undefined
    if (target !== undefined) {
      deliver(res, target, { ...params, state: target.state })
      return
    }
    const url = new URL(errorUrl)
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
    redirect(res, 302, url.href)
  }
}

/** HTML-escapes text for an element body or a quoted attribute. */
export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

/** fosite's form_post page: one hidden input per parameter, submitted on load. */
function formPostPage(action: string, params: Readonly<Record<string, string>>): string {
  const inputs = Object.entries(params)
    .map(([k, v]) => `      <input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}"/>`)
    .join('\n')
  return `<html>
  <head>
    <title>Submit This Form</title>
  </head>
  <body onload="javascript:document.forms[0].submit()">
    <form method="post" action="${escapeHtml(action)}">
${inputs}
    </form>
  </body>
</html>
`
}
