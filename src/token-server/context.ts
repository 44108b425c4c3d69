import type { Logger } from 'pino'
import type { ScopeStrategy } from '../scope.js'
import type { Hasher } from './hash.js'
import type { KeyManager } from './keys.js'
import type { TokenServerMetrics } from './metrics.js'
import type { FailureLimiter } from './rate-limit.js'
import type { RevocationFeed } from './revocations.js'
import type { AuthorizationIssuer } from './oidc/authorization.js'
import type { IssueSettings } from './oidc/issue/settings.js'
import type { SecretCache } from './secret-cache.js'
import type { Store, TokenStrategy } from './store/types.js'
import type { AccessTokens } from './tokens/access-tokens.js'
import type { OpaqueTokens } from './tokens/opaque.js'

/** What the token server's handlers share; built once in server.ts and passed down. */
export interface TokenServerContext {
  readonly store: Store
  readonly hasher: Hasher
  readonly secrets: SecretCache
  readonly tokens: AccessTokens
  readonly keys: KeyManager
  readonly scopeStrategy: ScopeStrategy
  readonly logger: Logger
  /** `urls.self.issuer`. */
  readonly issuer: string
  /** `urls.self.admin`, or '' when not configured. */
  readonly adminUrl: string
  /** Default access token lifespan (ttl.access_token). */
  readonly ttlSeconds: number
  readonly defaultStrategy: TokenStrategy
  readonly metrics: TokenServerMetrics
  /** Failed client authentications per client id and address (429 once over the limit). */
  readonly limiter: FailureLimiter
  /** Revocations, announced to subscribed gateways (and, with Postgres, to every instance). */
  readonly feed: RevocationFeed
  /** Authorization codes (`ory_ac_`, a key of their own). */
  readonly codes: OpaqueTokens
  /** Lifespans, rotation, subject identifiers and discovery of the OpenID Connect side. */
  readonly issue: IssueSettings
  /** Turns a granted authorization into codes and tokens (oidc/issue/issuer.ts); the flow calls it. */
  readonly authorizationIssuer: AuthorizationIssuer
}
