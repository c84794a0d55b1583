#!/usr/bin/env node
// Uploads one file with tus-js-client (the real browser/Node client) and
// prints one JSON object per line on stdout describing what happened.
// Driven by t/integration/test_clients.py.
//
//   node tus_upload.mjs --endpoint URL --file PATH
//        [--chunk-size BYTES]      default 1 MiB
//        [--parallel N]            parallelUploads (concatenation)
//        [--abort-after BYTES]     upload.abort() once that many bytes were
//                                  sent, then exit 0 (resume later)
//        [--storage FILE]          FileUrlStorage: remember the upload and
//                                  resume a previous one of the same file
//        [--upload-url URL]        resume this upload
//        [--meta key=value]...     Upload-Metadata
//
// events: {"event":"resume"|"created"|"progress"|"aborted"|"success"|"error"}

import fs from 'node:fs'
import process from 'node:process'
import { Upload, FileUrlStorage } from 'tus-js-client'

function parseArgs(argv) {
  const opts = { meta: {}, chunkSize: 1024 * 1024, parallel: 1 }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`)
      return argv[++i]
    }
    switch (a) {
      case '--endpoint': opts.endpoint = next(); break
      case '--file': opts.file = next(); break
      case '--chunk-size': opts.chunkSize = Number(next()); break
      case '--parallel': opts.parallel = Number(next()); break
      case '--abort-after': opts.abortAfter = Number(next()); break
      case '--storage': opts.storage = next(); break
      case '--upload-url': opts.uploadUrl = next(); break
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
  if (!opts.endpoint || !opts.file) throw new Error('--endpoint and --file are required')
  return opts
}

function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`)
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  const size = fs.statSync(opts.file).size
  let aborted = false
  let lastProgress = -1

  const uploadOptions = {
    endpoint: opts.endpoint,
    chunkSize: opts.chunkSize,
    metadata: opts.meta,
    retryDelays: [0, 500, 1000, 2000, 4000],
    removeFingerprintOnSuccess: true,
  }
  if (opts.parallel > 1) uploadOptions.parallelUploads = opts.parallel
  if (opts.uploadUrl) uploadOptions.uploadUrl = opts.uploadUrl
  if (opts.storage) {
    uploadOptions.urlStorage = new FileUrlStorage(opts.storage)
  } else {
    uploadOptions.storeFingerprintForResuming = false
  }

  await new Promise((resolve, reject) => {
    const upload = new Upload(fs.createReadStream(opts.file), {
      ...uploadOptions,
      onUploadUrlAvailable() {
        emit({ event: 'created', url: upload.url })
      },
      onProgress(sent, total) {
        // one progress line per MiB is plenty
        const mib = Math.floor(sent / (1024 * 1024))
        if (mib !== lastProgress) {
          lastProgress = mib
          emit({ event: 'progress', sent, total })
        }
        if (opts.abortAfter !== undefined && !aborted && sent >= opts.abortAfter) {
          aborted = true
          upload.abort(false).then(() => {
            emit({ event: 'aborted', sent, url: upload.url })
            resolve()
          }, reject)
        }
      },
      onSuccess() {
        emit({ event: 'success', url: upload.url, size })
        resolve()
      },
      onError(err) {
        reject(err)
      },
    })

    const go = async () => {
      if (opts.storage) {
        const previous = await upload.findPreviousUploads()
        if (previous.length > 0) {
          upload.resumeFromPreviousUpload(previous[0])
          emit({
            event: 'resume',
            url: previous[0].uploadUrl || null,
            parallelUploadUrls: previous[0].parallelUploadUrls || null,
          })
        }
      } else if (opts.uploadUrl) {
        emit({ event: 'resume', url: opts.uploadUrl })
      }
      upload.start()
    }
    go().catch(reject)
  })
}

main().then(
  () => process.exit(0),
  (err) => {
    emit({ event: 'error', message: String(err && err.message ? err.message : err) })
    process.exit(1)
  },
)
