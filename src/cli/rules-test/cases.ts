/**
 * The format of rule test files (`*.test.yml` beside the rules): fixtures answering the calls
 * handlers make, and cases, each a request and what must happen to it. Checked with a JSON
 * schema so that a typo in a case file is an error naming the file, not a test that passes.
 */
import { readFile } from 'node:fs/promises'
import { Ajv } from 'ajv'
import { parse } from 'yaml'
import { ConfigError } from '../../errors.js'
import { once } from '../../util/once.js'

/** One call a handler may make and the answer the fake gives it. */
export interface HttpFixture {
  readonly request: {
    /** Default: any method. */
    readonly method?: string
    /** Without a query, any query matches. */
    readonly url: string
    /** Headers the call must carry (names case-insensitive, values exact). */
    readonly headers?: Readonly<Record<string, string>>
    /** Fields an application/x-www-form-urlencoded body must carry (e.g. introspection's `token`). */
    readonly form?: Readonly<Record<string, string>>
    /** A JSON body must contain these members (recursively; arrays exactly). */
    readonly json?: unknown
  }
  readonly response: {
    readonly status?: number
    readonly headers?: Readonly<Record<string, string>>
    /** Sent as application/json. */
    readonly json?: unknown
    readonly body?: string
  }
}

/** A JWKS the fake serves; its keys are generated for the run and never leave the process. */
export interface JwksFixture {
  readonly url: string
  readonly keys: readonly { readonly kid: string; readonly alg?: string }[]
}

export interface Fixtures {
  readonly http?: readonly HttpFixture[]
  readonly jwks?: readonly JwksFixture[]
}

export interface CaseRequest {
  readonly method?: string
  readonly url: string
  readonly headers?: Readonly<Record<string, string>>
  readonly cookies?: Readonly<Record<string, string>>
  /** A string is sent as is; anything else as JSON. */
  readonly body?: unknown
  /** A JWT signed for the run with a key of a `jwks` fixture, sent as `Authorization: Bearer`. */
  readonly jwt?: { readonly kid?: string; readonly claims?: Readonly<Record<string, unknown>> }
  /** The client address handlers see (`when.remote_ip`, X-Forwarded-For). Default 127.0.0.1. */
  readonly remote_ip?: string
}

/** Expected upstream header: a value, `{ matches: regexp }`, or null for "not sent". */
export type HeaderExpectation = string | { readonly matches: string } | null

export interface Expectation {
  /** The client's status; 200 when the request is forwarded (the fake upstream answers 200). */
  readonly status?: number
  /** The id of the rule that matched; null when none did. */
  readonly rule?: string | null
  readonly subject?: string
  readonly upstream?: {
    readonly url?: string
    readonly headers?: Readonly<Record<string, HeaderExpectation>>
  }
  /** The Location of a redirect answer. */
  readonly redirect?: string
  /** The id of the error handler that answered (e.g. json, redirect, www_authenticate). */
  readonly error_handler?: string
  /** The error's code in Gatehouse's catalogue, e.g. GATEHOUSE_ERR_FORBIDDEN. */
  readonly error?: string
}

export interface TestCase {
  readonly name: string
  readonly fixtures?: Fixtures
  readonly request: CaseRequest
  readonly expect: Expectation
}

export interface CaseFile {
  readonly source: string
  readonly fixtures: Fixtures
  readonly cases: readonly TestCase[]
}

const str = { type: 'string' }
const strMap = { type: 'object', additionalProperties: str }
const fixturesSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    http: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['request', 'response'],
        properties: {
          request: {
            type: 'object',
            additionalProperties: false,
            required: ['url'],
            properties: { method: str, url: str, headers: strMap, form: strMap, json: {} },
          },
          response: {
            type: 'object',
            additionalProperties: false,
            properties: { status: { type: 'integer', minimum: 100, maximum: 599 }, headers: strMap, json: {}, body: str },
          },
        },
      },
    },
    jwks: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['url', 'keys'],
        properties: {
          url: str,
          keys: {
            type: 'array',
            minItems: 1,
            items: { type: 'object', additionalProperties: false, required: ['kid'], properties: { kid: str, alg: { enum: ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'EdDSA'] } } },
          },
        },
      },
    },
  },
}

const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['cases'],
  properties: {
    fixtures: fixturesSchema,
    cases: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'request', 'expect'],
        properties: {
          name: str,
          fixtures: fixturesSchema,
          request: {
            type: 'object',
            additionalProperties: false,
            required: ['url'],
            properties: {
              method: str,
              url: str,
              headers: strMap,
              cookies: strMap,
              body: {},
              remote_ip: str,
              jwt: { type: 'object', additionalProperties: false, properties: { kid: str, claims: { type: 'object' } } },
            },
          },
          expect: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            properties: {
              status: { type: 'integer' },
              rule: { type: ['string', 'null'] },
              subject: str,
              redirect: str,
              error_handler: str,
              error: str,
              upstream: {
                type: 'object',
                additionalProperties: false,
                properties: {
                  url: str,
                  headers: {
                    type: 'object',
                    additionalProperties: {
                      oneOf: [str, { type: 'null' }, { type: 'object', additionalProperties: false, required: ['matches'], properties: { matches: str } }],
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
}

const validateCaseFile = once(() => new Ajv({ allErrors: true, strict: false }).compile(SCHEMA))

/** Reads and checks one case file; every problem is reported at once (ConfigError). */
export async function readCaseFile(path: string): Promise<CaseFile> {
  let doc: unknown
  try {
    doc = parse(await readFile(path, 'utf8'))
  } catch (err) {
    throw new ConfigError(`${path}: ${(err as Error).message}`)
  }
  const validate = validateCaseFile()
  if (!validate(doc)) {
    const problems = (validate.errors ?? []).map((e) => `${path}: ${e.instancePath || '/'} ${e.message ?? 'is invalid'}`)
    throw new ConfigError(`${path}: invalid test file`, problems)
  }
  const file = doc as { fixtures?: Fixtures; cases: TestCase[] }
  return { source: path, fixtures: file.fixtures ?? {}, cases: file.cases }
}
