import type { Migration } from './types.js'

/**
 * The Postgres schema. Tables are created in the connection's schema (the DSN's `search_path`,
 * else `public`). JSON columns are jsonb; timestamps bigint (clients and keys in milliseconds,
 * tokens in seconds, as in types.ts).
 */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'create_clients',
    down: 'DROP TABLE gatehouse_clients;',
    up: `
      CREATE TABLE gatehouse_clients (
        -- "C": byte order, whatever the database's locale, so listClients pages the same way as
        -- the SQLite store, and the primary key index serves ORDER BY client_id.
        client_id   text COLLATE "C" PRIMARY KEY,
        secret_hash text,
        client_name text   NOT NULL,
        owner       text   NOT NULL,
        data        jsonb  NOT NULL,
        created_at  bigint NOT NULL,
        updated_at  bigint NOT NULL
      );
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
      -- same statement, and token inserts (the hot path) need not lock the client row.
      CREATE TABLE gatehouse_access_tokens (
        signature_hash text PRIMARY KEY,
        client_id      text COLLATE "C" NOT NULL,
        subject        text   NOT NULL,
        scope          jsonb  NOT NULL,
        audience       jsonb  NOT NULL,
        strategy       text   NOT NULL CHECK (strategy IN ('opaque', 'jwt')),
        issued_at      bigint NOT NULL,
        expires_at     bigint NOT NULL,
        ext            jsonb  NOT NULL
      );
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
        "set"       text   NOT NULL,
        kid         text   NOT NULL,
        private_jwk jsonb  NOT NULL,
        public_jwk  jsonb  NOT NULL,
        created_at  bigint NOT NULL,
        PRIMARY KEY ("set", kid)
      );
    `,
  },
  {
    version: 4,
    name: 'add_grant_id_token_use',
    // Tokens issued before are access tokens (the only kind issued so far), each a grant of its
    // own: the volatile default gives every existing row its own id (Postgres evaluates it per
    // row, rewriting the table once; it holds only unexpired tokens). The defaults stay for token servers of the previous version still running against
    // this database during a rolling upgrade: their inserts name neither column.
    up: `
      ALTER TABLE gatehouse_access_tokens
        ADD COLUMN grant_id text NOT NULL DEFAULT gen_random_uuid()::text,
        ADD COLUMN token_use text NOT NULL DEFAULT 'access_token' CHECK (token_use IN ('access_token', 'refresh_token'));
      -- revokeByGrantId.
      CREATE INDEX gatehouse_access_tokens_grant_id_idx ON gatehouse_access_tokens (grant_id);
    `,
    // Version 3's table holds access tokens only: other kinds go, rather than become access tokens.
    down: `
      DELETE FROM gatehouse_access_tokens WHERE token_use <> 'access_token';
      ALTER TABLE gatehouse_access_tokens DROP COLUMN grant_id, DROP COLUMN token_use;
    `,
  },
  {
    version: 5,
    name: 'create_oidc_records',
    down: 'DROP TABLE gatehouse_oidc_records;',
    up: `
      -- Every OpenID Connect record (oidc/records.ts) in one table: the models share one contract
      -- and one purge. payload is text, not jsonb: it is opaque to SQL, and jsonb would refuse a
      -- \\u0000 in a string (a login app's context may hold anything) and reorder keys.
      -- seq orders findBy oldest first; upsert takes a new one, as a replaced record is new.
      CREATE TABLE gatehouse_oidc_records (
        model       text   NOT NULL,
        id          text   NOT NULL,
        seq         bigint GENERATED ALWAYS AS IDENTITY,
        payload     text   NOT NULL,
        expires_at  bigint NOT NULL,
        grant_id    text,
        subject     text,
        client_id   text COLLATE "C",
        sid         text,
        consumed_at bigint,
        PRIMARY KEY (model, id)
      );
      -- Partial: most models leave some of these fields empty. grant_id and client_id lead their
      -- index because revokeByGrantId and deleteClient select them across models; findBy and
      -- destroyBy by grant_id or client_id then filter model among one grant's or client's rows.
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
