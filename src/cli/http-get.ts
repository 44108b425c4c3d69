import { request } from 'undici'

/** GETs a JSON document from an admin/management endpoint; throws with the status and body on failure. */
export async function getJson(endpoint: string, path: string): Promise<{ status: number; body: unknown }> {
  const url = new URL(path.replace(/^\//, ''), endpoint.endsWith('/') ? endpoint : `${endpoint}/`)
  const res = await request(url, { method: 'GET', headersTimeout: 10_000, bodyTimeout: 10_000 })
  const text = await res.body.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON: keep the text for the message
  }
  return { status: res.statusCode, body }
}
