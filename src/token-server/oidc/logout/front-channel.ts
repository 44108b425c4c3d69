/**
 * OpenID Connect Front-Channel Logout 1.0 as Hydra renders it (oauth2/handler.go,
 * performOidcFrontOrBackChannelLogout): a page with one hidden iframe per client's
 * `frontchannel_logout_uri`, which sends the browser on to the post-logout URI once every iframe
 * has loaded, after 7 seconds at the latest, or by a link when scripts are off.
 */
import type { ServerResponse } from 'node:http'
import type { ClientRecord } from '../../store/types.js'
import { fositeError } from '../flow/errors.js'

/**
 * Each client's front-channel URI with `iss` and `sid` set in its query. Hydra adds them for
 * every client, whether or not it registered `frontchannel_logout_session_required` (the spec
 * requires them then, and allows them otherwise).
 */
export function frontChannelUrls(clients: readonly ClientRecord[], issuer: string, sid: string): string[] {
  return clients.map((c) => {
    const uri = String(c.data.frontchannel_logout_uri)
    if (!URL.canParse(uri)) throw fositeError('server_error', `Unable to parse frontchannel_logout_uri because ${uri}.`)
    const u = new URL(uri)
    u.searchParams.set('iss', issuer)
    u.searchParams.set('sid', sid)
    return u.href
  })
}

/** Sends the front-channel logout page (200, text/html, never cached). */
export function sendFrontChannelPage(res: ServerResponse, urls: readonly string[], redirectTo: string): void {
  const html = frontChannelPage(urls, redirectTo)
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'cache-control': 'no-store',
    pragma: 'no-cache',
  })
  res.end(html)
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

/** A JavaScript string literal that cannot end the script element it sits in. */
const jsString = (s: string): string => JSON.stringify(s).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')

export function frontChannelPage(urls: readonly string[], redirectTo: string): string {
  const href = escapeHtml(redirectTo)
  const iframes = urls.map((u) => `<iframe src="${escapeHtml(u)}" onload="done(this)"></iframe>`).join('\n')
  return `<html>
<head>
    <meta http-equiv="refresh" content="7; URL=${href}">
</head>
<style type="text/css">
    iframe { position: absolute; left: 0; top: 0; height: 0; width: 0; border: none; }
</style>
<script>
    var total = ${urls.length};
    var redir = ${jsString(redirectTo)};
    var timeouts = [];
    var redirected = false;
    // Cancel pending timeouts so that no front-channel URI is called twice.
    window.onbeforeunload = function () {
        redirected = true;
        for (var i = 0; i < timeouts.length; i++) clearTimeout(timeouts[i]);
        timeouts = [];
    };
    function setAndRegisterTimeout(fct, duration) {
        if (redirected) return;
        timeouts.push(setTimeout(fct, duration));
    }
    function redirect() {
        window.location.replace(redir);
        // In case replace failed, try href.
        setAndRegisterTimeout(function () { window.location.href = redir; }, 250);
    }
    function done() {
        total--;
        if (total < 1) setAndRegisterTimeout(redirect, 500);
    }
    // Redirect after 7 seconds if, e.g., an iframe does not load.
    setAndRegisterTimeout(redirect, 7000);
    // If the redirect takes unusually long, say so.
    setTimeout(function () { document.getElementById("redir").style.display = "block"; }, 2000);
</script>
<body>
<noscript>
    <p>
        JavaScript is disabled - you should be redirected in 5 seconds but if not, click <a href="${href}">here</a> to continue.
    </p>
</noscript>
<p id="redir" style="display: none">
    Redirection takes unusually long. If you are not being redirected within the next seconds, click <a href="${href}">here</a> to continue.
</p>
${iframes}
</body>
</html>
`
}
