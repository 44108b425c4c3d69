/**
 * The SQLite store's writer thread (see ThreadWriter in sqlite-writer.ts): one connection to the
 * file, on which it runs the writes it is sent, one at a time, in the order they arrive, and
 * answers each once committed. A close request closes the connection and ends the thread.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { openSqliteFile } from './sqlite-open.js'
import type { WriterData, WriterReply, WriterRequest } from './sqlite-writer.js'
import { SqliteWriteExecutor, toFailure } from './sqlite-writes.js'

function serve(port: NonNullable<typeof parentPort>, data: WriterData): void {
  const { db } = openSqliteFile(data.file, data.options)
  const exec = new SqliteWriteExecutor(db)
  port.on('message', (req: WriterRequest) => {
    if ('close' in req) {
      db.close()
      port.close()
      return
    }
    let reply: WriterReply
    try {
      reply = { id: req.id, result: exec.apply(req.write) }
    } catch (err) {
      reply = { id: req.id, error: toFailure(err) }
    }
    port.postMessage(reply)
  })
}

if (parentPort === null) throw new Error('sqlite-writer-thread runs as a worker thread of the SQLite store')
serve(parentPort, workerData as WriterData)
