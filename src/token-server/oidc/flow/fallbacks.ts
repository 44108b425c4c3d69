/**
 * Hydra's fallback pages on the public API: where the browser lands when `urls.error`,
 * `urls.login`, `urls.consent`, `urls.logout` or `urls.post_logout_redirect` is not configured (settings.ts points there). Without them a
 * user sent to the error URL, e.g. for a redirect URI that is not registered, saw a bare 404 and
 * the operator had no log line saying why. Same paths, statuses and content as Hydra's
 * (oauth2/handler_fallback_endpoints.go); every value from the query is escaped.
 */
import type { ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import type { Route } from '../../http/router.js'
import { escapeHtml } from './response-mode.js'

const MISSING = 'The request could not be executed because a mandatory configuration key is missing or malformed'

function send(res: ServerResponse, status: number, page: string): void {
  // Every value shown comes from the query string: escaped, and the page may run no script.
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(page),
    'content-security-policy': "default-src 'none'",
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
  })
  res.end(page)
}

const footer = (key: string): string => `<p>
	You are seeing this page because configuration key <code>${escapeHtml(key)}</code> is not set.
</p>
<p>
	If you are an administrator, please read <a href="https://www.ory.com/docs">the guide</a> to understand what you
	need to do. If you are a user, please contact the administrator.
</p>`

/** A page for a flow step whose app is not configured (200, as Hydra); title and heading default to MISSING. */
function missingKey(logger: Logger, key: string, title = MISSING, heading = MISSING): Route['handler'] {
  const page = `<html>
<head>
	<title>${title}</title>
</head>
<body>
<h1>
	${heading}
</h1>
${footer(key)}
</body>
</html>`
  return async ({ res }) => {
    logger.error(`A request failed because configuration key "${key}" is missing or malformed.`)
    send(res, 200, page)
  }
}

/** The default error page: the OAuth error from the query (500, as Hydra). */
function errorPage(logger: Logger): Route['handler'] {
  return async ({ res, query }) => {
    logger.error('A client requested the default error URL, environment variable URLS_ERROR is probably not set.')
    const item = (label: string, name: string): string => `	<li>${label}: ${escapeHtml(query.get(name) ?? '')}</li>`
    send(
      res,
      500,
      `
<html>
<head>
	<title>An OAuth 2.0 Error Occurred</title>
</head>
<body>
<h1>
	The OAuth2 request resulted in an error.
</h1>
<ul>
${item('Error', 'error')}
${item('Description', 'error_description')}
${item('Hint', 'error_hint')}
${item('Debug', 'error_debug')}
</ul>
${footer('urls.error')}
</body>
</html>
`,
    )
  }
}

/** GET /oauth2/fallbacks/{error,login,consent,logout,logout/callback}. */
export function fallbackRoutes(logger: Logger): Route[] {
  return [
    { method: 'GET', path: '/oauth2/fallbacks/error', handler: errorPage(logger) },
    { method: 'GET', path: '/oauth2/fallbacks/login', handler: missingKey(logger, 'urls.login') },
    { method: 'GET', path: '/oauth2/fallbacks/consent', handler: missingKey(logger, 'urls.consent') },
    { method: 'GET', path: '/oauth2/fallbacks/logout', handler: missingKey(logger, 'urls.logout') },
    {
      method: 'GET',
      path: '/oauth2/fallbacks/logout/callback',
      handler: missingKey(
        logger,
        'urls.post_logout_redirect',
        'You logged out successfully!',
        'The Default Post Logout URL is not set which is why you are seeing this fallback page. Your log out request however succeeded.',
      ),
    },
  ]
}
