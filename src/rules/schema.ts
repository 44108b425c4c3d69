/**
 * The JSON schema (draft-07) of one access rule in Oathkeeper's format. Objects we own are
 * closed (`additionalProperties: false`) so a typo such as `match.method` or `authenticator`
 * is reported instead of silently producing a rule that never matches. Handler `config`
 * objects stay open: each handler validates its own config when the rule is compiled.
 *
 * Every field carries a `description`: `gatehouse rules schema` publishes this very object
 * (wrapped as a rule file, see ruleFileSchema) so that editors complete and check rule files
 * against what the loader enforces, not against a copy that could drift.
 */

/** One handler reference of a rule; `what` names the kind for the descriptions. */
function handlerRef(what: string, examples: readonly string[]) {
  return {
    type: 'object',
    description: `A ${what}: a handler id and, optionally, config merged over the gateway config's global config for it.`,
    properties: {
      handler: {
        type: 'string',
        minLength: 1,
        description: `The ${what}'s id, e.g. ${examples.map((e) => `"${e}"`).join(', ')}. It must be enabled in the gateway config.`,
      },
      config: {
        type: 'object',
        description: `Settings of this ${what} for this rule, deep-merged over the global config of the handler; each handler checks its own keys when the rule is loaded.`,
      },
    },
    required: ['handler'],
    additionalProperties: false,
  } as const
}

export const ruleSchema = {
  type: 'object',
  description: 'An access rule (ORY Oathkeeper format): which requests it matches, how they are authenticated, authorized and changed, where they go.',
  properties: {
    id: { type: 'string', minLength: 1, description: 'Unique id of the rule; it appears in logs, metrics, /rules and error answers.' },
    version: { type: 'string', description: 'Oathkeeper version the rule was written for (semantic version, e.g. "v0.40.0"); informational.' },
    description: { type: 'string', description: 'What the rule is for; informational.' },
    priority: { type: 'integer', description: 'Used only with access_rules.precedence: priority: of two rules that match a request, the higher priority answers; equal priorities are an error (Gatehouse key).' },
    match: {
      type: 'object',
      description: 'Which requests the rule handles. Exactly one rule must match a request: none → 404, several → 500.',
      properties: {
        url: {
          type: 'string',
          description:
            'Pattern for scheme://host[:port]/path (never the query). Parts in <…> are regular expressions (matching_strategy regexp) or globs (glob), e.g. "https://api.example.com/users/<[0-9]+>".',
        },
        methods: { type: 'array', items: { type: 'string', description: 'An HTTP method, e.g. GET.' }, description: 'HTTP methods the rule matches; a rule without methods matches no request.' },
      },
      required: ['url'],
      additionalProperties: false,
    },
    upstream: {
      type: 'object',
      description: 'Where the proxy forwards an allowed request (the decision API ignores it).',
      properties: {
        url: { type: 'string', description: 'Base URL of the upstream service, e.g. "http://users:8080".' },
        preserve_host: { type: 'boolean', description: "Forward the client's Host header instead of the upstream's host. Default false." },
        strip_path: { type: 'string', description: 'A path prefix removed before forwarding, e.g. "/api" turns /api/users into /users.' },
      },
      additionalProperties: false,
    },
    authenticators: {
      type: 'array',
      items: handlerRef('authenticator', ['anonymous', 'noop', 'unauthorized', 'jwt', 'oauth2_introspection', 'bearer_token', 'cookie_session', 'oauth2_client_credentials']),
      description: 'Tried in order; the first that is responsible for the request decides. None responsible → 401.',
    },
    authorizer: handlerRef('authorizer', ['allow', 'deny', 'remote', 'remote_json']),
    mutators: {
      type: 'array',
      items: handlerRef('mutator', ['noop', 'header', 'cookie', 'id_token', 'hydrator']),
      description: 'Run in order after the authorizer allowed the request; they set the headers the upstream (or the decision API caller) receives.',
    },
    errors: {
      type: 'array',
      items: handlerRef('error handler', ['json', 'redirect', 'www_authenticate']),
      description: "Error handlers tried in order (each by its `when`) before the gateway config's errors.fallback.",
    },
    // Oathkeeper Maester copies a Rule's spec.configMapName into the JSON it writes; Oathkeeper
    // ignores it, so a Maester-written access-rules.json must load here too. No effect.
    configMapName: { type: 'string', description: 'Written by Oathkeeper Maester; ignored.' },
  },
  required: ['id', 'match'],
  additionalProperties: false,
} as const

/** Where the published schema lives in the repository (rule files refer to it relatively). */
export const RULE_SCHEMA_FILE = 'schema/rule.schema.json'

/**
 * The JSON schema of a rule file as editors see it: an array of rules, each checked by the very
 * `ruleSchema` the loader compiles. What `gatehouse rules schema` prints.
 */
export const ruleFileSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Gatehouse access rules',
  description: 'A Gatehouse (ORY Oathkeeper-compatible) access rule file: a list of rules. YAML or JSON.',
  type: 'array',
  items: ruleSchema,
} as const
