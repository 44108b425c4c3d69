import type { JWK } from 'jose'
import type { Logger } from 'pino'
import type { Dispatcher } from 'undici'
import type { IntrospectionCacheView } from '../observability/metrics.js'
import type { SharedResources } from './shared.js'
import type { GatehouseError } from '../errors.js'
import type { AuthenticationSession, PipelineRequest } from './session.js'

/** What handlers may use, passed explicitly (no module-level state). */
export interface HandlerDeps {
  readonly logger: Logger
  /**
   * The HTTP client for calls handlers make (introspection, JWKS, check_session_url, remote
   * authorizers, hydrators): one keep-alive pool per origin for the whole gateway, closed with it.
   */
  readonly http: Dispatcher
  /** Per-gateway shared resources (caches, JWKS fetchers), kept across rule reloads while a rule uses them. */
  readonly shared: SharedResources
  /** How handlers show their shared resources to the gateway; absent where nothing is served (rule validation, tests). */
  readonly hooks?: HandlerHooks
}

/**
 * What the gateway offers handlers for their shared resources. Each registration returns the
 * function that withdraws it: pass it to the `onRelease` of SharedResources.get, so that it ends
 * when the resource is dropped.
 */
export interface HandlerHooks {
  /** Counts an introspection cache in the `gatehouse_introspection_cache_*` metrics. */
  introspectionCache(cache: IntrospectionCacheView): () => void
  /** Publishes a set of public keys at the API's `/.well-known/jwks.json` (id_token signers). */
  publishKeys(source: KeyPublisher): () => void
}

/** Something whose public keys the gateway publishes. Rejects when its keys cannot be loaded. */
export interface KeyPublisher {
  publicKeys(): Promise<readonly JWK[]>
}

/**
 * A handler definition: `create` runs once per rule at load time with the merged and
 * validated config and returns the function that runs per request.
 */
export interface HandlerDef<Config, Fn> {
  /** The id rule files use, e.g. 'oauth2_introspection'. */
  readonly id: string
  /** JSON schema of the handler's config (ajv, draft-07); `{}` config must validate when nothing is required. */
  readonly schema: Readonly<Record<string, unknown>>
  create(config: Readonly<Config>, deps: HandlerDeps): Fn
}

/**
 * Returns true when the request is authenticated (session filled in), false when this
 * authenticator is not responsible (e.g. no bearer token). Throws a GatehouseError to deny.
 */
export type Authenticate = (req: PipelineRequest, session: AuthenticationSession) => boolean | Promise<boolean>

/** Returns to allow; throws a GatehouseError (403 or failure) to deny. */
export type Authorize = (req: PipelineRequest, session: AuthenticationSession) => void | Promise<void>

/** Changes session.Header (and may change Subject/Extra); throws a GatehouseError on failure. */
export type Mutate = (req: PipelineRequest, session: AuthenticationSession) => void | Promise<void>

/** The answer an error handler produces. */
export interface ErrorResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** Turns an error into the client's answer. */
export type HandleError = (err: GatehouseError, req: PipelineRequest) => ErrorResponse

export type AuthenticatorDef<C = any> = HandlerDef<C, Authenticate>
export type AuthorizerDef<C = any> = HandlerDef<C, Authorize>
export type MutatorDef<C = any> = HandlerDef<C, Mutate>
export type ErrorHandlerDef<C = any> = HandlerDef<C, HandleError>

export type HandlerKind = 'authenticators' | 'authorizers' | 'mutators' | 'errors'
