import { join } from 'node:path'
import t from 'tap'
import { ConfigError } from '../src/errors.js'
import { MemoryStore } from '../src/token-server/store/memory.js'
import { openStore, parseDsn } from '../src/token-server/store/open.js'
import { PostgresStore } from '../src/token-server/store/postgres.js'
import { parsePostgresDsn } from '../src/token-server/store/postgres-dsn.js'
import { SqliteStore } from '../src/token-server/store/sqlite.js'

t.test('parseDsn: Hydra DSN forms', async (t) => {
  const cwd = '/srv/gatehouse'
  t.same(parseDsn('memory', cwd), { kind: 'memory' })
  t.same(parseDsn('sqlite://./data/gatehouse.sqlite', cwd), { kind: 'sqlite', file: join(cwd, 'data/gatehouse.sqlite') }, 'relative to cwd')
  t.same(parseDsn('sqlite://file.db?_fk=true', cwd), { kind: 'sqlite', file: join(cwd, 'file.db') }, 'query parameters ignored')
  t.same(parseDsn('sqlite:///var/lib/g.sqlite?_fk=true&mode=rwc', cwd), { kind: 'sqlite', file: '/var/lib/g.sqlite' }, 'absolute')
  t.same(parseDsn('sqlite::memory:', cwd), { kind: 'sqlite', file: ':memory:' })
  t.same(parseDsn('sqlite://:memory:', cwd), { kind: 'sqlite', file: ':memory:' })
  t.same(parseDsn('sqlite://file::memory:?cache=shared', cwd), { kind: 'sqlite', file: ':memory:' })
  const pg = 'postgres://u:p@db:5432/hydra?sslmode=disable'
  t.same(parseDsn(pg, cwd), { kind: 'postgres', dsn: pg })
  t.same(parseDsn('postgresql://db/x', cwd), { kind: 'postgres', dsn: 'postgresql://db/x' })
})

t.test('unknown or missing scheme → ConfigError naming it and the supported ones, never the password', async (t) => {
  for (const [dsn, re] of [
    ['mysql://root:hunter2@db:3306/hydra', /unsupported DSN scheme "mysql"; supported: memory, sqlite:\/\/<path>, sqlite::memory:, postgres:\/\/…, postgresql:\/\/…/],
    ['cockroach://root:hunter2@db/hydra', /unsupported DSN scheme "cockroach"/],
    ['/var/lib/hunter2.db', /the DSN has no scheme; supported: memory/],
    ['sqlite://?_fk=true', /sqlite DSN has no file path/],
  ] as const) {
    const err = (() => {
      try {
        openStore(dsn)
      } catch (e) {
        return e
      }
    })()
    t.type(err, ConfigError, dsn)
    t.match((err as Error).message, re)
    t.notMatch((err as Error).message, /hunter2/)
  }
})

t.test('openStore returns the store the DSN names', async (t) => {
  const stores = [openStore('memory'), openStore('sqlite::memory:'), openStore('postgres://u:p@127.0.0.1:1/x')]
  t.teardown(() => Promise.all(stores.map((s) => s.close())))
  t.type(stores[0], MemoryStore)
  t.type(stores[1], SqliteStore)
  t.type(stores[2], PostgresStore)
  t.same(stores.map((s) => s.kind), ['memory', 'sqlite', 'postgres'])
})

t.test('parsePostgresDsn: Hydra pool parameters are translated and removed; the rest goes to pg', async (t) => {
  const { pool, schema } = parsePostgresDsn(
    'postgres://user:p%40ss@db.example:5432/hydra?sslmode=disable&max_conns=7&max_idle_conns=4&max_conn_lifetime=1h&max_idle_conn_time=30s&connect_timeout=3&application_name=gh&search_path=tenant_1',
  )
  t.equal(pool.max, 7)
  t.equal(pool.ssl, false)
  t.equal(pool.maxLifetimeSeconds, 3600)
  t.equal(pool.idleTimeoutMillis, 30_000)
  t.equal(pool.connectionTimeoutMillis, 3000)
  t.equal(pool.options, '-c search_path=tenant_1')
  t.equal(schema, 'tenant_1')
  t.equal(pool.connectionString, 'postgres://user:p%40ss@db.example:5432/hydra?application_name=gh', 'only what pg understands is left')
})

t.test('parsePostgresDsn: defaults; other ssl modes pass through; options are kept with search_path', async (t) => {
  const a = parsePostgresDsn('postgresql://db/hydra')
  t.equal(a.pool.max, 20, "Hydra's default max_conns")
  t.equal(a.pool.connectionTimeoutMillis, 5000, 'a bounded connect by default')
  t.equal(a.pool.ssl, undefined)
  t.equal(a.pool.options, undefined)
  t.equal(a.schema, undefined)
  t.equal(parsePostgresDsn('postgres://db/h?sslmode=require').pool.connectionString, 'postgres://db/h?sslmode=require')
  t.equal(parsePostgresDsn('postgres://db/h?connect_timeout=0').pool.connectionTimeoutMillis, 0, '0 waits forever, as in libpq')
  t.equal(parsePostgresDsn('postgres://db/h?options=-c%20statement_timeout%3D5000&search_path=s').pool.options, '-c statement_timeout=5000 -c search_path=s')
})

t.test('parsePostgresDsn: bad parameters → ConfigError naming the parameter, not the password', async (t) => {
  const cases: [string, RegExp][] = [
    ['postgres://u:hunter2@db/h?max_conns=0', /max_conns must be an integer >= 1, got "0"/],
    ['postgres://u:hunter2@db/h?max_conns=lots', /max_conns must be an integer >= 1/],
    ['postgres://u:hunter2@db/h?connect_timeout=-1', /connect_timeout must be an integer >= 0/],
    ['postgres://u:hunter2@db/h?max_conn_lifetime=1', /max_conn_lifetime: invalid duration "1": missing unit/],
    ['postgres://u:hunter2@db/h?search_path=a,b', /search_path must be one schema name/],
    ['postgres://u:hunter2@db/h?search_path=x;drop', /search_path must be one schema name/],
    ['postgres://u:hunter2@[db/h', /not a valid URL/],
  ]
  for (const [dsn, re] of cases) {
    t.throws(() => parsePostgresDsn(dsn), ConfigError, dsn)
    t.throws(() => parsePostgresDsn(dsn), { message: re }, dsn)
    t.throws(() => parsePostgresDsn(dsn), { message: /^((?!hunter2).)*$/s }, `${dsn}: no password`)
  }
})
