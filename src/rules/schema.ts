/**
 * The JSON schema (draft-07) of one access rule in Oathkeeper's format. Objects we own are
 * closed (`additionalProperties: false`) so a typo such as `match.method` or `authenticator`
 * is reported instead of silently producing a rule that never matches. Handler `config`
 * objects stay open: each handler validates its own config when the rule is compiled.
 */

const handlerRef = {
  type: 'object',
  properties: {
    handler: { type: 'string', minLength: 1 },
    config: { type: 'object' },
  },
  required: ['handler'],
  additionalProperties: false,
} as const

export const ruleSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', minLength: 1 },
    version: { type: 'string' },
    description: { type: 'string' },
    // Gatehouse's own: used only with access_rules.precedence: priority (highest wins).
    priority: { type: 'integer' },
    match: {
      type: 'object',
      properties: {
        url: { type: 'string' },
        methods: { type: 'array', items: { type: 'string' } },
      },
      required: ['url'],
      additionalProperties: false,
    },
    upstream: {
      type: 'object',
      properties: {
        url: { type: 'string' },
        preserve_host: { type: 'boolean' },
        strip_path: { type: 'string' },
      },
      additionalProperties: false,
    },
    authenticators: { type: 'array', items: handlerRef },
    authorizer: handlerRef,
    mutators: { type: 'array', items: handlerRef },
    errors: { type: 'array', items: handlerRef },
    // Oathkeeper Maester copies a Rule's spec.configMapName into the JSON it writes; Oathkeeper
    // ignores it, so a Maester-written access-rules.json must load here too. No effect.
    configMapName: { type: 'string' },
  },
  required: ['id', 'match'],
  additionalProperties: false,
} as const
