import { ConfigError, GatehouseError } from '../../errors.js'
import { describeChar } from '../remote-call.js'
import { compileTemplate, type Template } from '../template.js'
import type { MutatorDef } from '../types.js'

/** Config of the `header` mutator. */
export interface HeaderMutatorConfig {
  /**
   * Header name → template rendered with the session as data, e.g.
   * `X-User: "{{ print .Subject }}"` or `X-Tenant: "{{ index .MatchContext.RegexpCaptureGroups 0 }}"`.
   * The rendered value replaces whatever the client sent under that name.
   */
  readonly headers: Readonly<Record<string, string>>
}

/** RFC 7230 §3.2.6 token: what a header field name may consist of. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/**
 * What a field value must not contain (RFC 7230 §3.2: only HTAB, SP, VCHAR and obs-text).
 * CR/LF would split the header (response splitting / request smuggling), NUL is cut by some
 * servers; the other control characters, and characters above U+00FF (which would be written
 * as latin1, U+010A as a LF), would be refused by the HTTP client at forward time, with a less
 * helpful error.
 */
const FORBIDDEN_IN_VALUE = /[^\t\x20-\x7e\x80-\xff]/

/**
 * `header`: sets upstream request headers from templates. Templates are compiled once per
 * rule; a request only renders them.
 */
export const header = {
  id: 'header',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['headers'],
    properties: {
      headers: { type: 'object', additionalProperties: { type: 'string' } },
    },
  },
  create(config) {
    const compiled: Array<readonly [name: string, template: Template]> = []
    const problems: string[] = []
    for (const [name, source] of Object.entries(config.headers)) {
      if (!TOKEN.test(name)) {
        problems.push(`headers: "${name}" is not a valid header name`)
        continue
      }
      try {
        compiled.push([name, compileTemplate(source, `headers.${name}`)])
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err
        // The message already names the template ("template: headers.X-User:1:4: …").
        problems.push(...err.problems)
      }
    }
    if (problems.length > 0) throw new ConfigError(problems.length === 1 ? problems[0]! : 'invalid headers', problems)

    return (_req, session) => {
      for (const [name, template] of compiled) {
        const value = template(session)
        const bad = FORBIDDEN_IN_VALUE.exec(value)
        if (bad !== null) {
          throw new GatehouseError('GATEHOUSE_ERR_TEMPLATE', {
            reason: `header "${name}": the rendered value contains ${describeChar(bad[0])}, which a header value cannot carry`,
          })
        }
        session.Header[name] = value
      }
    }
  },
} satisfies MutatorDef<HeaderMutatorConfig>
