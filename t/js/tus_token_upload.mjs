#!/usr/bin/env node
// Uploads one file with tus-js-client to a location that needs a signed
// token (ingest_token on), sending `Authorization: Bearer <token>` on every
// request, and prints one JSON object per line on stdout.
// Driven by t/integration/test_tokens.py.
//
//   node tus_token_upload.mjs --endpoint URL --file PATH --token TOKEN
//        [--chunk-size BYTES]      default 64 KiB
//        [--hold-until EPOCH]      before every PATCH after the first, wait
//                                  until this unix time (seconds, may be
//                                  fractional): makes the token expire in
//                                  the middle of the upload
//        [--patch-delay-ms MS]     wait this long before every PATCH
//        [--meta key=value]...     Upload-Metadata
//        [--no-retry]              retryDelays: null (fail on the first
//                                  error, e.g. an expected 401)
//
// events: {"event":"created"|"patch"|"progress"|"success"|"error"}
// "patch" events carry the time the PATCH was sent (unix seconds, float);
// "error" carries the HTTP status when the server answered.

import fs from 'node:fs'
import process from 'node:process'
import { Upload } from 'tus-js-client'

function parseArgs(argv) {
  const opts = { meta: {}, chunkSize: 64 * 1024, retry: true }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`)
      return argv[++i]
    }
    switch (a) {
      case '--endpoint': opts.endpoint = next(); break
      case '--file': opts.file = next(); break
      case '--token': opts.token = next(); break
      case '--chunk-size': opts.chunkSize = Number(next()); break
      case '--hold-until': opts.holdUntil = Number(next()); break
      case '--patch-delay-ms': opts.patchDelay = Number(next()); break
      case '--no-retry': opts.retry = false; break
      case '--meta': {
        const kv = next()
        const eq = kv.indexOf('=')
        if (eq < 1) throw new Error(`bad --meta ${kv}`)
        opts.meta[kv.slice(0, eq)] = kv.slice(eq + 1)
        break
      }
      default: throw new Error(`unknown argument ${a}`)
    }
  }
  if (!opts.endpoint || !opts.file || !opts.token) {
    throw new Error('--endpoint, --file and --token are required')
  }
  return opts
}

function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`)
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  const size = fs.statSync(opts.file).size
  let patches = 0
  let lastProgress = -1

  await new Promise((resolve, reject) => {
    const upload = new Upload(fs.createReadStream(opts.file), {
      endpoint: opts.endpoint,
      chunkSize: opts.chunkSize,
      metadata: opts.meta,
      headers: { Authorization: `Bearer ${opts.token}` },
      retryDelays: opts.retry ? [0, 500, 1000] : null,
      storeFingerprintForResuming: false,
      removeFingerprintOnSuccess: true,
      // tus-js-client 4 waits for a returned promise
      async onBeforeRequest(req) {
        if (req.getMethod() !== 'PATCH') return
        patches++
        if (opts.patchDelay) await sleep(opts.patchDelay)
        if (opts.holdUntil !== undefined && patches > 1) {
          const wait = opts.holdUntil * 1000 - Date.now()
          if (wait > 0) await sleep(wait)
        }
        emit({ event: 'patch', n: patches, at: Date.now() / 1000 })
      },
      onUploadUrlAvailable() {
        emit({ event: 'created', url: upload.url })
      },
      onProgress(sent, total) {
        const step = Math.floor(sent / (256 * 1024))
        if (step !== lastProgress) {
          lastProgress = step
          emit({ event: 'progress', sent, total })
        }
      },
      onSuccess() {
        emit({ event: 'success', url: upload.url, size, patches })
        resolve()
      },
      onError(err) {
        reject(err)
      },
    })
    upload.start()
  })
}

main().then(
  () => process.exit(0),
  (err) => {
    let status = null
    try {
      if (err && err.originalResponse) status = err.originalResponse.getStatus()
    } catch (e) { /* no response */ }
    emit({
      event: 'error',
      status,
      message: String(err && err.message ? err.message : err),
    })
    process.exit(1)
  },
)
