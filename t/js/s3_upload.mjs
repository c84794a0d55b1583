#!/usr/bin/env node
// Uploads one file through the S3 API with the AWS SDK for JavaScript v3
// (the real client) and prints one JSON object per line on stdout.
// Driven by t/integration/test_s3.py.
//
//   node s3_upload.mjs MODE --endpoint URL --bucket B --key K --file PATH
//        [--region R]              default us-east-1
//        [--part-size BYTES]       lib-storage partSize, default 5 MiB
//        [--queue-size N]          lib-storage queueSize, default 3
//        [--checksum WHEN_SUPPORTED|WHEN_REQUIRED]
//                                  requestChecksumCalculation (default: the
//                                  SDK's default, WHEN_SUPPORTED)
//        [--content-type T]
//        [--presign-checksum WHEN_REQUIRED|WHEN_SUPPORTED]
//                                  requestChecksumCalculation of the client
//                                  that presigns (default WHEN_REQUIRED:
//                                  with WHEN_SUPPORTED the SDK puts the
//                                  CRC32 of an empty body into the URL,
//                                  x-amz-checksum-crc32=AAAAAA==, which S3
//                                  rejects for any non-empty body)
//
// Credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the
// environment, passed to the client explicitly (no profile files).
//
// Modes:
//   upload         @aws-sdk/lib-storage Upload of the file (a read stream)
//   put-stream     PutObjectCommand with the file as a stream body (the SDK
//                  sends it aws-chunked with a checksum trailer by default)
//   presign-parts  CreateMultipartUpload, then one presigned UploadPart URL
//                  (@aws-sdk/s3-request-presigner) per part used with a
//                  plain fetch PUT, then CompleteMultipartUpload
//   presign-put    a presigned PutObject URL used with a plain fetch PUT
//
// events: {"event":"request",...} for every request the SDK sent (the
// headers that tell the payload mode), {"event":"progress"},
// {"event":"part"}, {"event":"done",...} or {"event":"error",...} (exit 1)

import fs from 'node:fs'
import process from 'node:process'
import {
  S3Client, PutObjectCommand, UploadPartCommand,
  CreateMultipartUploadCommand, CompleteMultipartUploadCommand,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'

function parseArgs(argv) {
  const opts = {
    region: 'us-east-1', partSize: 5 * 1024 * 1024, queueSize: 3,
    presignChecksum: 'WHEN_REQUIRED',
  }
  opts.mode = argv[0]
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`)
      return argv[++i]
    }
    switch (a) {
      case '--endpoint': opts.endpoint = next(); break
      case '--bucket': opts.bucket = next(); break
      case '--key': opts.key = next(); break
      case '--file': opts.file = next(); break
      case '--region': opts.region = next(); break
      case '--part-size': opts.partSize = Number(next()); break
      case '--queue-size': opts.queueSize = Number(next()); break
      case '--checksum': opts.checksum = next(); break
      case '--content-type': opts.contentType = next(); break
      case '--presign-checksum': opts.presignChecksum = next(); break
      default: throw new Error(`unknown argument ${a}`)
    }
  }
  for (const k of ['mode', 'endpoint', 'bucket', 'key', 'file']) {
    if (!opts[k]) throw new Error(`--${k} is required`)
  }
  return opts
}

function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`)
}

function makeClient(opts, checksum = opts.checksum) {
  const conf = {
    endpoint: opts.endpoint,
    region: opts.region,
    forcePathStyle: true,
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID,
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
    },
    maxAttempts: 1,     // a failure must show, not be retried away
  }
  if (checksum) {
    conf.requestChecksumCalculation = checksum
    conf.responseChecksumValidation = checksum
  }
  const client = new S3Client(conf)
  // what went on the wire, after signing: the payload mode of each request
  client.middlewareStack.add((next, context) => async (args) => {
    const h = args.request.headers || {}
    const lower = {}
    for (const [k, v] of Object.entries(h)) lower[k.toLowerCase()] = v
    emit({
      event: 'request',
      command: context.commandName,
      method: args.request.method,
      content_sha256: lower['x-amz-content-sha256'] || null,
      content_encoding: lower['content-encoding'] || null,
      transfer_encoding: lower['transfer-encoding'] || null,
      trailer: lower['x-amz-trailer'] || null,
      decoded_length: lower['x-amz-decoded-content-length'] || null,
      checksums: Object.keys(lower).filter((k) => k.startsWith('x-amz-checksum-')),
    })
    return next(args)
  }, { step: 'deserialize', name: 'ingestWireLog', priority: 'low' })
  return client
}

async function modeUpload(client, opts) {
  const upload = new Upload({
    client,
    params: {
      Bucket: opts.bucket, Key: opts.key,
      Body: fs.createReadStream(opts.file),
      ContentType: opts.contentType,
    },
    partSize: opts.partSize,
    queueSize: opts.queueSize,
    leavePartsOnError: false,
  })
  upload.on('httpUploadProgress', (p) => {
    emit({ event: 'progress', loaded: p.loaded, total: p.total ?? null, part: p.part ?? null })
  })
  const out = await upload.done()
  return { etag: out.ETag, key: out.Key, bucket: out.Bucket, location: out.Location ?? null }
}

async function modePutStream(client, opts) {
  const size = fs.statSync(opts.file).size
  const out = await client.send(new PutObjectCommand({
    Bucket: opts.bucket, Key: opts.key,
    Body: fs.createReadStream(opts.file),
    ContentLength: size,
    ContentType: opts.contentType,
  }))
  return { etag: out.ETag, checksum_crc32: out.ChecksumCRC32 ?? null }
}

async function fetchPut(url, body, what) {
  const r = await fetch(url, { method: 'PUT', body })
  const text = await r.text()
  if (r.status !== 200) {
    throw new Error(`${what}: PUT presigned URL -> ${r.status}: ${text}`)
  }
  return r.headers.get('etag')
}

async function modePresignParts(client, opts) {
  const presigner = makeClient(opts, opts.presignChecksum)
  const data = fs.readFileSync(opts.file)
  const created = await client.send(new CreateMultipartUploadCommand({
    Bucket: opts.bucket, Key: opts.key, ContentType: opts.contentType,
  }))
  const uploadId = created.UploadId
  emit({ event: 'created', uploadId })
  const parts = []
  for (let off = 0, n = 1; off < data.length || n === 1; off += opts.partSize, n++) {
    const chunk = data.subarray(off, Math.min(off + opts.partSize, data.length))
    const url = await getSignedUrl(presigner, new UploadPartCommand({
      Bucket: opts.bucket, Key: opts.key, UploadId: uploadId, PartNumber: n,
    }), { expiresIn: 600 })
    const etag = await fetchPut(url, chunk, `part ${n}`)
    emit({ event: 'part', part: n, size: chunk.length, etag, url })
    parts.push({ PartNumber: n, ETag: etag })
  }
  const done = await client.send(new CompleteMultipartUploadCommand({
    Bucket: opts.bucket, Key: opts.key, UploadId: uploadId,
    MultipartUpload: { Parts: parts },
  }))
  return { etag: done.ETag, uploadId, parts: parts.length }
}

async function modePresignPut(client, opts) {
  const presigner = makeClient(opts, opts.presignChecksum)
  const data = fs.readFileSync(opts.file)
  const url = await getSignedUrl(presigner, new PutObjectCommand({
    Bucket: opts.bucket, Key: opts.key,
  }), { expiresIn: 600 })
  const etag = await fetchPut(url, data, 'object')
  return { etag, url }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  const client = makeClient(opts)
  const modes = {
    upload: modeUpload,
    'put-stream': modePutStream,
    'presign-parts': modePresignParts,
    'presign-put': modePresignPut,
  }
  const fn = modes[opts.mode]
  if (!fn) throw new Error(`unknown mode ${opts.mode}`)
  const out = await fn(client, opts)
  emit({ event: 'done', ...out })
}

main().catch((err) => {
  emit({
    event: 'error',
    name: err?.name ?? null,
    message: String(err?.message ?? err),
    status: err?.$metadata?.httpStatusCode ?? null,
    code: err?.Code ?? err?.name ?? null,
  })
  process.exit(1)
})
