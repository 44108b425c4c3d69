/** Reading the app's form posts: url-encoded bodies, bounded, parsed with URLSearchParams. */
import type { IncomingMessage } from 'node:http'

/** The app's forms are a few short fields; anything larger is not one of them. */
const MAX_FORM_BYTES = 16 * 1024

/** A post the app cannot read; answered with `status` and the message. */
export class FormError extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message)
    this.name = 'FormError'
  }
}

/** The posted form; throws FormError for another content type or a body over the limit. */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  if (type !== 'application/x-www-form-urlencoded') {
    req.resume()
    throw new FormError(415, 'The form must be sent as application/x-www-form-urlencoded.')
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_FORM_BYTES) {
      req.resume()
      throw new FormError(413, 'The form is too large.')
    }
    chunks.push(chunk)
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
}

/** One field's value: the first when repeated, '' when absent. */
export function field(form: URLSearchParams, name: string): string {
  return form.get(name) ?? ''
}
