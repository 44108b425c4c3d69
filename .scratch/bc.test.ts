import t from 'tap'
import { buildConfig } from '../src/config/load.js'
import { cpuMs } from '../test/helpers/cpu-time.js'
const r = cpuMs(() => { for (let i = 0; i < 20; i++) buildConfig({}, {}) })
console.log('per buildConfig cpu ms', r.ms / 20)
t.pass()
