import { randomBytes } from 'node:crypto'

/**
 * A new grant id: a UUIDv7 (RFC 9562 §5.7), 48 bits of milliseconds then 74 random bits. Time
 * first on purpose: every token row carries its grant id in an index (revokeByGrantId), and ids
 * that grow with time are added at the right edge of that index, a page or two per commit,
 * where random UUIDs (v4) would dirty one page per token and slow client-credentials issuance.
 */
export function newGrantId(now = Date.now()): string {
  const b = randomBytes(16)
  b.writeUIntBE(now, 0, 6)
  b[6] = (b[6]! & 0x0f) | 0x70 // version 7
  b[8] = (b[8]! & 0x3f) | 0x80 // variant 10
  const h = b.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}
