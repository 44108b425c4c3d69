import type { Readable } from 'node:stream'

/**
 * Largest response body read from an introspection or token endpoint. Real answers are a few
 * hundred bytes; the bound keeps a broken or hostile endpoint from filling the gateway's memory.
 */
export const MAX_RESPONSE_BYTES = 1024 * 1024

/** A body that arrived whole but cannot be used (too large, not JSON): retrying will not help. */
export class InvalidBody extends Error {}

/**
 * Reads and parses a JSON body of at most `MAX_RESPONSE_BYTES`.
 * @throws InvalidBody when the body is too large or not JSON; the stream's error when reading fails.
 */
export async function readJson(body: Readable): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += (chunk as Buffer).length
    if (size > MAX_RESPONSE_BYTES) {
      body.destroy()
      throw new InvalidBody(`the response body is larger than ${MAX_RESPONSE_BYTES} bytes`)
    }
    chunks.push(chunk as Buffer)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw new InvalidBody('the response body is not valid JSON')
  }
}

/** Reads nothing more from a body we do not use, so the connection can be reused. */
export async function discard(body: { dump(): Promise<void> }): Promise<void> {
  try {
    await body.dump()
  } catch {
    // The connection is closed instead; nothing to do.
  }
}
