/**
 * The output layer of the Hydra-style verbs, unit by unit: Go's tabwriter layout, `--format`
 * (yaml, jsonpath, jsonpointer), Go's time format, `-H` parsing.
 */
import t from 'tap'
import { parseHeaders } from '../src/cli/hydra/http.js'
import { gjsonPath, jsonPointer } from '../src/cli/hydra/json-paths.js'
import { goTime, parseFormat, serialize } from '../src/cli/hydra/output.js'
import { tabwrite } from '../src/cli/hydra/tabwriter.js'

t.test('tabwrite: the example of Go\'s text/tabwriter docs (padding 0), byte for byte', async (t) => {
  t.equal(tabwrite('a\tb\tc\td\t.\n123\t12345\t1234567\t123456789\t.\n', 0), 'a\tb\tc\td\t\t.\n123\t12345\t1234567\t123456789\t.\n')
})

t.test('tabwrite: cmdx tables — tab stops of 8 past the widest cell + 1, per column block', async (t) => {
  // Column 0 is one block of 24 ("long-client-id-1" + 1 → 24). Column 1 breaks wherever a line
  // has no terminated cell there (the "a" row, the empty row), so its blocks are 8, 16 and 8 wide.
  const text = 'CLIENT ID\tSCOPE\t\na\tx\nlong-client-id-1\tapi read\t\n\t\nNEXT PAGE TOKEN\t\t\nIS LAST PAGE\tfalse\t\n'
  t.equal(
    tabwrite(text),
    'CLIENT ID\t\tSCOPE\t\n' +
      'a\t\t\tx\n' +
      'long-client-id-1\tapi read\t\n' +
      '\t\t\t\n' +
      'NEXT PAGE TOKEN\t\t\t\n' +
      'IS LAST PAGE\t\tfalse\t\n',
  )
  t.equal(tabwrite('ÄÖÜ\tx\t\nabcdefgh\ty\t\n'), 'ÄÖÜ\t\tx\t\nabcdefgh\ty\t\n', 'widths count characters, not bytes')
  t.equal(tabwrite('abcdefg\tx\t\n'), 'abcdefg\tx\t\n', 'padding 1: a 7-character cell reaches the first stop exactly')
  t.equal(tabwrite(''), '')
})

t.test('--format: the cmdx names; jsonpath/jsonpointer need their argument', async (t) => {
  t.same(parseFormat('yaml'), { kind: 'yaml' })
  t.same(parseFormat('jsonpath=items.#.client_id'), { kind: 'jsonpath', path: 'items.#.client_id' })
  t.same(parseFormat('jsonpointer=/a~1b'), { kind: 'jsonpointer', path: '/a~1b' })
  t.throws(() => parseFormat('jsonpath'), /jsonpath needs a path/)
  t.throws(() => parseFormat('xml'), /must be one of table, json, json-pretty, yaml/)
})

t.test('serialize: json, json-pretty, yaml, jsonpath and jsonpointer (indented, as cmdx prints them)', async (t) => {
  const doc = { items: [{ client_id: 'a', scope: 'x y' }, { client_id: 'b' }], 'a/b': 1, 'a.b': 2 }
  t.equal(serialize(doc, parseFormat('json')), `${JSON.stringify(doc)}\n`)
  t.equal(serialize({ a: 1 }, parseFormat('json-pretty')), '{\n  "a": 1\n}\n')
  t.equal(serialize({ client_id: 'a', audience: ['x', 'y'] }, parseFormat('yaml')), 'client_id: a\naudience:\n  - x\n  - y\n')
  t.equal(serialize(doc, parseFormat('jsonpath=items.#.client_id')), '[\n  "a",\n  "b"\n]\n')
  t.equal(serialize(doc, parseFormat('jsonpath=items.0.scope')), '"x y"\n')
  t.equal(serialize(doc, parseFormat('jsonpath=items.#')), '2\n')
  t.equal(serialize(doc, parseFormat('jsonpath=nope.x')), 'null\n', 'a miss is null, as in GJSON')
  t.equal(serialize(doc, parseFormat('jsonpointer=/items/1/client_id')), '"b"\n')
  t.equal(serialize(doc, parseFormat('jsonpointer=/a~1b')), '1\n')
  t.equal(gjsonPath(doc, 'a\\.b'), 2, '\\. escapes a dot')
  t.equal((gjsonPath(doc, 'items.#.scope') as unknown[]).length, 1, '#.key drops items without the key')
  t.throws(() => jsonPointer(doc, '/items/5'), /failed to apply JSON pointer "\/items\/5"/)
  t.throws(() => jsonPointer(doc, 'items'), /must be empty or start with "\/"/)
})

t.test('goTime: Go\'s time.Time.String() in the local zone', async (t) => {
  const saved = process.env.TZ
  t.teardown(() => void (process.env.TZ = saved))
  const d = new Date('2026-12-04T18:05:09Z')
  for (const [tz, want] of [
    ['UTC', '2026-12-04 18:05:09 +0000 UTC'],
    ['Europe/Berlin', '2026-12-04 19:05:09 +0100 CET'],
    ['America/New_York', '2026-12-04 13:05:09 -0500 EST'],
    ['Asia/Kolkata', '2026-12-04 23:35:09 +0530 +0530'],
  ] as const) {
    process.env.TZ = tz
    t.equal(goTime(d), want, tz)
  }
})

t.test('-H: "Name: value", only the first colon splits; repeats of a name are joined', async (t) => {
  t.same(parseHeaders(['Authorization: Bearer abc', 'X-Url: https://a.test:8443/x', 'x-url: second']), {
    authorization: 'Bearer abc',
    'x-url': 'https://a.test:8443/x, second',
  })
  t.throws(() => parseHeaders(['no colon']), /--http-header "no colon" is not "Name: value"/)
  t.throws(() => parseHeaders([': empty name']), /is not "Name: value"/)
})
