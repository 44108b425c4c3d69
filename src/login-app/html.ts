/**
 * HTML for the login app's pages: one escaping function through which every interpolated value
 * goes (the `html` tag escapes each `${…}` unless it is already `Html`), one layout with inline
 * CSS allowed by its hash in the Content-Security-Policy, and the headers every page carries.
 */
import { createHash } from 'node:crypto'
import type { ServerResponse } from 'node:http'

/** Markup that is already safe: made by `html` or `raw`. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value
  }
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Escapes text for element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!)
}

type Part = Html | string | number | boolean | null | undefined | readonly Part[]

function render(part: Part): string {
  if (part instanceof Html) return part.value
  if (Array.isArray(part)) return part.map(render).join('')
  if (part === null || part === undefined || part === false) return ''
  return escapeHtml(String(part))
}

/** Template tag: literal parts as written, every value escaped (arrays joined, Html kept). */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0]!
  values.forEach((v, i) => (out += render(v) + strings[i + 1]!))
  return new Html(out)
}

const CSS = `
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
main{max-width:26rem;margin:3rem auto;background:#fff;padding:1.5rem 2rem;border-radius:8px;box-shadow:0 1px 4px #0002}
h1{font-size:1.3rem;margin:0 0 1rem}
label{display:block;margin:.6rem 0}
input[type=text],input[type=password]{display:block;width:100%;box-sizing:border-box;padding:.45rem;margin-top:.2rem;border:1px solid #b8bdc7;border-radius:4px}
button{padding:.45rem 1rem;margin:.8rem .5rem 0 0;border-radius:4px;border:1px solid #2f5bd3;background:#2f5bd3;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#2f5bd3}
.error{background:#fde8e8;color:#8a1c1c;padding:.5rem .75rem;border-radius:4px}
.muted{color:#5a6272;font-size:.9rem}
ul.scopes{list-style:none;padding:0}
pre{white-space:pre-wrap;word-break:break-all;background:#f4f5f7;padding:.5rem;font-size:.8rem}
`
/** The CSP allows exactly this stylesheet: no other inline style, no script, no external asset. */
const CSS_HASH = createHash('sha256').update(CSS).digest('base64')
const CSP = `default-src 'none'; style-src 'sha256-${CSS_HASH}'; base-uri 'none'; frame-ancestors 'none'`

/** Headers of every answer: not framed (clickjacking), not cached (challenges, tokens), no referrer. */
export function securityHeaders(res: ServerResponse): void {
  res.setHeader('content-security-policy', CSP)
  res.setHeader('x-frame-options', 'DENY')
  res.setHeader('x-content-type-options', 'nosniff')
  res.setHeader('cache-control', 'no-store')
  // The challenge is in the page's URL: it must not travel to another site in a Referer header.
  res.setHeader('referrer-policy', 'no-referrer')
}

/** Sends a whole page. */
export function sendPage(res: ServerResponse, status: number, title: string, body: Html): void {
  securityHeaders(res)
  const doc = html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title><style>${new Html(CSS)}</style></head>
<body><main>${body}</main></body></html>
`
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(doc.value)
}

/** A page that says what went wrong, in words for the person at the browser. */
export function sendError(res: ServerResponse, status: number, message: string): void {
  sendPage(res, status, 'Error', html`<h1>Something went wrong</h1><p class="error">${message}</p>`)
}

/** 302 to `location` (a URL from the admin API, or one of the app's own). */
export function redirect(res: ServerResponse, location: string): void {
  securityHeaders(res)
  res.writeHead(302, { location }).end()
}
