import type { Migration } from './types.js'

/**
 * The SQLite schema. STRICT tables so a value of the wrong type is an error rather than being
 * stored as whatever it happens to be. JSON columns are TEXT; timestamps INTEGER (clients and
 * keys in milliseconds, tokens in seconds, as in types.ts).
 */
export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'create_clients',
    down: 'DROP TABLE gatehouse_clients;',
    up: `
      CREATE TABLE gatehouse_clients (
        -- BINARY: listClients pages by client_id, and every store must order ids the same way.
        client_id   TEXT    NOT NULL COLLATE BINARY PRIMARY KEY,
        secret_hash TEXT,
        client_name TEXT    NOT NULL,
        owner       TEXT    NOT NULL,
        data        TEXT    NOT NULL,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      -- The filters of GET /admin/clients, with client_id so a filtered page is read in order.
      CREATE INDEX gatehouse_clients_client_name_idx ON gatehouse_clients (client_name, client_id);
      CREATE INDEX gatehouse_clients_owner_idx ON gatehouse_clients (owner, client_id);
    `,
  },
  {
    version: 2,
    name: 'create_access_tokens',
    down: 'DROP TABLE gatehouse_access_tokens;',
    up: `
      -- No foreign key to gatehouse_clients: deleteClient removes a client's tokens itself, in the
      -- same transaction, and token inserts (the hot path) need not check the client table.
      -- WITHOUT ROWID: a lookup by signature_hash reads one b-tree instead of index + table.
      CREATE TABLE gatehouse_access_tokens (
        signature_hash TEXT    NOT NULL PRIMARY KEY,
        client_id      TEXT    NOT NULL COLLATE BINARY,
        subject        TEXT    NOT NULL,
        scope          TEXT    NOT NULL,
        audience       TEXT    NOT NULL,
        strategy       TEXT    NOT NULL CHECK (strategy IN ('opaque', 'jwt')),
        issued_at      INTEGER NOT NULL,
        expires_at     INTEGER NOT NULL,
        ext            TEXT    NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX gatehouse_access_tokens_client_id_idx ON gatehouse_access_tokens (client_id);
      CREATE INDEX gatehouse_access_tokens_expires_at_idx ON gatehouse_access_tokens (expires_at);
    `,
  },
  {
    version: 3,
    name: 'create_keys',
    down: 'DROP TABLE gatehouse_keys;',
    up: `
      CREATE TABLE gatehouse_keys (
        "set"       TEXT    NOT NULL,
        kid         TEXT    NOT NULL,
        private_jwk TEXT    NOT NULL,
        public_jwk  TEXT    NOT NULL,
        created_at  INTEGER NOT NULL,
        PRIMARY KEY ("set", kid)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 4,
    name: 'add_grant_id_token_use',
    // Rebuilt rather than altered: ALTER TABLE ADD COLUMN takes only a constant default, and a
    // grant id must be unique per token. Tokens issued before this migration are each a grant of
    // their own (grant_id = their signature hash) and access tokens (the only kind issued so far).
    // The defaults serve a process of the previous version still writing to this file: its
    // tokens become access tokens of a fresh grant each, which is what they are.
    up: `
      CREATE TABLE gatehouse_access_tokens_v4 (
        signature_hash TEXT    NOT NULL PRIMARY KEY,
        grant_id       TEXT    NOT NULL DEFAULT (lower(hex(randomblob(16)))),
        token_use      TEXT    NOT NULL DEFAULT 'access_token' CHECK (token_use IN ('access_token', 'refresh_token')),
        client_id      TEXT    NOT NULL COLLATE BINARY,
        subject        TEXT    NOT NULL,
        scope          TEXT    NOT NULL,
        audience       TEXT    NOT NULL,
        strategy       TEXT    NOT NULL CHECK (strategy IN ('opaque', 'jwt')),
        issued_at      INTEGER NOT NULL,
        expires_at     INTEGER NOT NULL,
        ext            TEXT    NOT NULL
      ) STRICT, WITHOUT ROWID;
      INSERT INTO gatehouse_access_tokens_v4
        (signature_hash, grant_id, token_use, client_id, subject, scope, audience, strategy, issued_at, expires_at, ext)
        SELECT signature_hash, signature_hash, 'access_token', client_id, subject, scope, audience, strategy, issued_at, expires_at, ext
        FROM gatehouse_access_tokens;
      DROP TABLE gatehouse_access_tokens;
      ALTER TABLE gatehouse_access_tokens_v4 RENAME TO gatehouse_access_tokens;
      CREATE INDEX gatehouse_access_tokens_client_id_idx ON gatehouse_access_tokens (client_id);
      CREATE INDEX gatehouse_access_tokens_expires_at_idx ON gatehouse_access_tokens (expires_at);
      -- revokeByGrantId.
      CREATE INDEX gatehouse_access_tokens_grant_id_idx ON gatehouse_access_tokens (grant_id);
    `,
    // Version 3's table holds access tokens only: other kinds go, rather than become access tokens.
    down: `
      DELETE FROM gatehouse_access_tokens WHERE token_use <> 'access_token';
      DROP INDEX gatehouse_access_tokens_grant_id_idx;
      ALTER TABLE gatehouse_access_tokens DROP COLUMN grant_id;
      ALTER TABLE gatehouse_access_tokens DROP COLUMN token_use;
    `,
  },
  {
    version: 5,
    name: 'create_oidc_records',
    down: 'DROP TABLE gatehouse_oidc_records;',
    up: `
      -- Every OpenID Connect record (oidc/records.ts) in one table: the models share one contract
      -- and one purge. A rowid table, not WITHOUT ROWID: payloads (a consent request carries the
      -- client and the request) run to kilobytes, past what suits a clustered b-tree, and each
      -- secondary index then carries an 8-byte rowid rather than (model, id). The rowid also
      -- orders findBy oldest first: upsert replaces a row (INSERT OR REPLACE), so it gets a new one.
      CREATE TABLE gatehouse_oidc_records (
        model       TEXT    NOT NULL,
        id          TEXT    NOT NULL,
        payload     TEXT    NOT NULL,
        expires_at  INTEGER NOT NULL,
        grant_id    TEXT,
        subject     TEXT,
        client_id   TEXT    COLLATE BINARY,
        sid         TEXT,
        consumed_at INTEGER,
        PRIMARY KEY (model, id)
      ) STRICT;
      -- Partial: most models leave some of these fields empty, and a query with "col = ?" can
      -- use an index "WHERE col IS NOT NULL". grant_id and client_id lead their index because
      -- revokeByGrantId and deleteClient select them across models; findBy/destroyBy by grant_id
      -- or client_id then filter model among one grant's or client's few rows.
      CREATE INDEX gatehouse_oidc_records_grant_id_idx ON gatehouse_oidc_records (grant_id) WHERE grant_id IS NOT NULL;
      CREATE INDEX gatehouse_oidc_records_client_id_idx ON gatehouse_oidc_records (client_id, model) WHERE client_id IS NOT NULL;
      -- Selected only within a model (consent sessions of a subject, the records of a login session).
      CREATE INDEX gatehouse_oidc_records_subject_idx ON gatehouse_oidc_records (subject, model) WHERE subject IS NOT NULL;
      CREATE INDEX gatehouse_oidc_records_sid_idx ON gatehouse_oidc_records (sid, model) WHERE sid IS NOT NULL;
      -- The background purge.
      CREATE INDEX gatehouse_oidc_records_expires_at_idx ON gatehouse_oidc_records (expires_at);
    `,
  },
]
