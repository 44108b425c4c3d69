/**
 * Hydra's fallback pages (oauth2/handler_fallback_endpoints.go), served on the public API where
 * `urls.login`, `urls.consent` and `urls.error` point when they are not set, so a misconfigured
 * server shows the administrator what is missing instead of a 404. Every value shown comes from
 * the query string, so each is HTML-escaped, and the page may run no script.
 */
import type { ServerResponse } from 'node:http'
import type { Route, RouteContext } from '../../http/router.js'
import type { FlowDeps } from './deps.js'
import { escapeHtml } from './response-mode.js'

const MISSING = 'The request could not be executed because a mandatory configuration key is missing or malformed'

export function fallbackRoutes(deps: FlowDeps): Route[] {
  return [
    { method: 'GET', path: '/oauth2/fallbacks/login', handler: missingKey(deps, 'urls.login') },
    { method: 'GET', path: '/oauth2/fallbacks/consent', handler: missingKey(deps, 'urls.consent') },
    { method: 'GET', path: '/oauth2/fallbacks/error', handler: defaultError(deps) },
  ]
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': "default-src 'none'",
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
  })
  res.end(html)
}

function page(title: string, body: string, key: string): string {
  return `<html>
<head>
	<title>${escapeHtml(title)}</title>
</head>
<body>
${body}
<p>
	You are seeing this page because configuration key <code>${escapeHtml(key)}</code> is not set.
</p>
<p>
	If you are an administrator, please read <a href="https://www.ory.com/docs">the guide</a> to understand what you
	need to do. If you are a user, please contact the administrator.
</p>
</body>
</html>
`
}

/** Hydra's fallbackHandler: 200, the key that is not set. */
function missingKey(deps: FlowDeps, key: string) {
  return async ({ res }: RouteContext): Promise<void> => {
    deps.ctx.logger.error({ key }, `A request failed because configuration key "${key}" is missing or malformed.`)
    sendHtml(res, 200, page(MISSING, `<h1>\n\t${MISSING}\n</h1>`, key))
  }
}

/** Hydra's DefaultErrorHandler: 500, the error's name, description, hint and debug from the query. */
function defaultError(deps: FlowDeps) {
  return async ({ res, query }: RouteContext): Promise<void> => {
    deps.ctx.logger.error('A client requested the default error URL, environment variable URLS_ERROR is probably not set.')
    const item = (label: string, name: string): string => `\t<li>${label}: ${escapeHtml(query.get(name) ?? '')}</li>`
    const list = [item('Error', 'error'), item('Description', 'error_description'), item('Hint', 'error_hint'), item('Debug', 'error_debug')].join('\n')
    sendHtml(res, 500, page('An OAuth 2.0 Error Occurred', `<h1>\n\tThe OAuth2 request resulted in an error.\n</h1>\n<ul>\n${list}\n</ul>`, 'urls.error'))
  }
}
