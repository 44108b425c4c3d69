import type { OidcSelector } from './records.js'

/** The fields a selector can name, in the order every store builds its statements. */
export const SELECTOR_FIELDS = ['subject', 'client_id', 'sid', 'grant_id'] as const satisfies readonly (keyof OidcSelector)[]

export type SelectorField = (typeof SELECTOR_FIELDS)[number]

/**
 * The fields a selector names. A selector naming none would select (or delete) every record of a
 * model: a caller's bug, refused before it reaches a store.
 * @throws Error when the selector names no field.
 */
export function selectorFields(s: OidcSelector): SelectorField[] {
  const fields = SELECTOR_FIELDS.filter((f) => s[f] !== undefined)
  if (fields.length === 0) throw new Error('an OIDC record selector needs at least one field')
  return fields
}
