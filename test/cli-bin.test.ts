/**
 * The built `gatehouse` bin is executable after every build. npm makes a bin executable only
 * when it links it (npm ci, or npx's first install of this package); a build that creates
 * dist/ afresh (a new clone at a path npx has seen, `rm -rf dist`) wrote it without the bit,
 * and `npx gatehouse …` then failed with "Permission denied" from a cached npx install.
 */
import { statSync } from 'node:fs'
import t from 'tap'
import { BIN } from './helpers/cli.js'

t.test('dist/cli/main.js has its execute bits (npm test builds first)', async (t) => {
  t.equal(statSync(BIN).mode & 0o111, 0o111, `mode ${(statSync(BIN).mode & 0o777).toString(8)}`)
})
