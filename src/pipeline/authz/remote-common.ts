/**
 * What `remote` and `remote_json` share: templated request headers, and reading the
 * authorizer's answer (200 allow, 403 deny, anything else fails closed).
 */
import { ConfigError, GatehouseError } from '../../errors.js'
import { BAD_HEADER_VALUE, describeChar, first, HEADER_NAME, setSessionHeader, tooManyRequests, type RemoteAnswer } from '../remote-call.js'
import type { AuthenticationSession } from '../session.js'
import { compileTemplate, type Template } from '../template.js'

/** Compiled `headers`: name → template. */
export type HeaderTemplates = ReadonlyArray<readonly [name: string, template: Template]>

/** Compiles `headers` at load; bad names and template errors are reported together. */
export function compileHeaderTemplates(headers: Readonly<Record<string, string>> | undefined): HeaderTemplates {
  const out: Array<readonly [string, Template]> = []
  const problems: string[] = []
  for (const [name, source] of Object.entries(headers ?? {})) {
    if (!HEADER_NAME.test(name)) {
      problems.push(`headers: "${name}" is not a valid header name`)
      continue
    }
    try {
      out.push([name.toLowerCase(), compileTemplate(source, `headers.${name}`)])
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      problems.push(...err.problems)
    }
  }
  if (problems.length > 0) throw new ConfigError(problems.length === 1 ? problems[0]! : 'invalid headers', problems)
  return out
}

/** Renders the header templates into `into`; an empty value sends no header, as in Oathkeeper. */
export function renderHeaders(templates: HeaderTemplates, session: AuthenticationSession, into: Record<string, string>): void {
  for (const [name, template] of templates) {
    const value = template(session)
    if (value === '') continue
    const bad = BAD_HEADER_VALUE.exec(value)
    if (bad !== null) {
      // Refused here, not by the HTTP client: its refusal would look like a failed call and be retried.
      throw new GatehouseError('GATEHOUSE_ERR_TEMPLATE', { reason: `headers.${name}: the rendered value contains ${describeChar(bad[0])}, which a header value cannot carry` })
    }
    into[name] = value
  }
}

/** Checks `forward_response_headers_to_upstream` names at load. */
export function checkForwardedNames(names: readonly string[] | undefined): readonly string[] {
  const bad = (names ?? []).filter((n) => !HEADER_NAME.test(n))
  if (bad.length > 0) throw new ConfigError(`forward_response_headers_to_upstream: ${bad.map((n) => `"${n}"`).join(', ')} is not a valid header name`)
  return names ?? []
}

/**
 * Applies the authorizer's answer: 200 allows and copies the listed response headers into the
 * session (an absent one is set empty, as Oathkeeper's SetHeader does, so a client cannot
 * smuggle its own value of that header past the authorizer); 403 denies. `passRateLimit`:
 * 429 becomes a 429 with the remote's Retry-After (Oathkeeper's `remote`, not `remote_json`).
 * Anything else is a 500: the authorizer could not decide, so the request does not pass.
 */
export function applyAnswer(
  answer: RemoteAnswer,
  session: AuthenticationSession,
  forwarded: readonly string[],
  what: string,
  passRateLimit: boolean,
): void {
  if (answer.status === 200) {
    for (const name of forwarded) setSessionHeader(session.Header, name, headerValue(answer, name))
    return
  }
  if (answer.status === 403) throw new GatehouseError('GATEHOUSE_ERR_FORBIDDEN', { reason: `${what} denied the request` })
  if (answer.status === 429 && passRateLimit) throw tooManyRequests(answer, what)
  throw new GatehouseError('GATEHOUSE_ERR_INTERNAL', { reason: `${what}: expected status code 200 but got ${answer.status}` })
}

function headerValue(answer: RemoteAnswer, name: string): string {
  const v = first(answer.headers[name.toLowerCase()]) ?? ''
  // A value the upstream request could not carry is dropped rather than failing the request late.
  return BAD_HEADER_VALUE.test(v) ? '' : v
}
