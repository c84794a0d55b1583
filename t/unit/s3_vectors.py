#!/usr/bin/python3
# S3 request vectors made by an independent implementation, botocore (the
# library under boto3 and the aws cli), for test_sigv4. Each request is
# what a real boto3 client would put on the wire: a "before-send" hook
# captures it instead of sending it. Presigned URLs come from
# generate_presigned_url(). Needs Debian's python3-boto3.
#
# Output, one block per request, binary fields in hex ("-" when empty):
#
#   vec NAME NOW SECRET REGION EXPIRES
#   m METHOD
#   p PATH
#   q QUERY
#   h NAME VALUE          (repeated; includes the Host the HTTP client adds)
#   b BODY
#   d SHA256              the sha256 of the payload once decoded
#   x NPARTS              CompleteMultipartUpload: parts in the XML body
#   end
#
# NOW is the request time (from X-Amz-Date); EXPIRES is X-Amz-Expires of
# a presigned URL, or 0.
#
#   s3_vectors.py parse OPERATION STATUS < document.xml
#
# parses a response document as a boto3 client would (botocore's
# rest-xml parser with the S3 model of OPERATION) and prints the result
# as JSON, for test_s3xml.

import calendar
import hashlib
import io
import sys
import time
from urllib.parse import urlsplit

try:
    import boto3
    from botocore.awsrequest import AWSResponse
    from botocore.config import Config
except ImportError as e:
    print("s3_vectors.py: botocore is missing (apt-get install python3-boto3):",
          e, file=sys.stderr)
    sys.exit(2)


RESPONSES = {
    'POST?uploads': b'<?xml version="1.0" encoding="UTF-8"?>'
                    b'<InitiateMultipartUploadResult><Bucket>b</Bucket>'
                    b'<Key>k</Key><UploadId>u</UploadId>'
                    b'</InitiateMultipartUploadResult>',
    'POST': b'<?xml version="1.0" encoding="UTF-8"?>'
            b'<CompleteMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>'
            b'<ETag>"x-2"</ETag></CompleteMultipartUploadResult>',
}


class Raw:
    def __init__(self, data):
        self.data = data

    def stream(self, **kwargs):
        yield self.data


def hx(b):
    if b is None or len(b) == 0:
        return '-'
    if isinstance(b, str):
        b = b.encode('utf-8')
    return b.hex()


class Recorder:
    def __init__(self):
        self.requests = []

    def __call__(self, request, **kwargs):
        body = request.body
        if body is not None and hasattr(body, 'read'):
            body = body.read()
        if isinstance(body, str):
            body = body.encode('utf-8')
        self.requests.append((request.method, request.url,
                              list(request.headers.items()), body))
        key = request.method + ('?uploads' if request.url.endswith('?uploads')
                                else '')
        xml = RESPONSES.get(key, RESPONSES.get(request.method, b''))
        if request.method == 'GET' and '?' not in request.url:
            xml = b'data'
        return AWSResponse(request.url, 200, {'ETag': '"0123"'}, Raw(xml))


def client(endpoint, region, akid, secret, **cfg):
    c = boto3.client('s3', endpoint_url=endpoint, region_name=region,
                     aws_access_key_id=akid, aws_secret_access_key=secret,
                     config=Config(s3={'addressing_style': 'path'},
                                   signature_version='s3v4', **cfg))
    rec = Recorder()
    c.meta.events.register('before-send.s3', rec)
    return c, rec


def emit(name, secret, region, method, url, headers, body, decoded=None,
         nparts=None, expires=0, now=None):
    parts = urlsplit(url)
    # the HTTP client adds Host unless the signer did (botocore does
    # when python3-awscrt is installed, as awscli pulls it in)
    hdrs = []
    if not any(k.lower() == 'host' for k, v in headers):
        hdrs.append(('Host', parts.netloc))
    for k, v in headers:
        if isinstance(v, bytes):
            v = v.decode('utf-8')
        hdrs.append((k, v))
    if now is None:
        amz = [v for k, v in hdrs if k.lower() == 'x-amz-date'][0]
        now = calendar.timegm(time.strptime(amz, '%Y%m%dT%H%M%SZ'))
    print('vec', name, now, hx(secret), region, expires)
    print('m', method)
    print('p', hx(parts.path))
    print('q', hx(parts.query))
    for k, v in hdrs:
        print('h', hx(k), hx(v))
    print('b', hx(body))
    if decoded is not None:
        print('d', hashlib.sha256(decoded).hexdigest())
    if nparts is not None:
        print('x', nparts)
    print('end')


def recorded(name, secret, region, rec, decoded=None, nparts=None):
    method, url, headers, body = rec.requests.pop()
    emit(name, secret, region, method, url, headers, body, decoded, nparts)


def presigned(name, secret, region, url, method, expires, extra=()):
    q = dict(kv.split('=', 1) for kv in urlsplit(url).query.split('&'))
    now = calendar.timegm(time.strptime(q['X-Amz-Date'], '%Y%m%dT%H%M%SZ'))
    emit(name, secret, region, method, url, list(extra), None, None, None,
         expires, now)


def main():
    secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
    odd_secret = 'sEcr3t+/= with spaces & more'
    key = 'videos/2026/a b+c$&=;,@!~(x)\u00fc\u6f22.mp4'
    data = bytes(range(256)) * 40 + b'tail'

    # https: unsigned payloads, aws-chunked with checksum trailers
    s3, rec = client('https://s3.example.test', 'us-east-1',
                     'AKIAIOSFODNN7EXAMPLE', secret)

    s3.create_multipart_upload(Bucket='bkt', Key=key, ContentType='video/mp4',
                               Metadata={'title': '  a   b  ',
                                         'x': 'y'})
    recorded('create', secret, 'us-east-1', rec)

    for algo in ('CRC32', 'SHA1', 'SHA256'):
        s3.upload_part(Bucket='bkt', Key=key, UploadId='0' * 32,
                       PartNumber=7, Body=data, ChecksumAlgorithm=algo)
        recorded('part-trailer-' + algo.lower(), secret, 'us-east-1', rec,
                 decoded=data)

    s3.upload_part(Bucket='bkt', Key=key, UploadId='0' * 32, PartNumber=1,
                   Body=io.BytesIO(data))
    recorded('part-unsigned', secret, 'us-east-1', rec, decoded=data)

    s3.put_object(Bucket='bkt', Key='empty', Body=b'',
                  ChecksumAlgorithm='CRC32')
    recorded('put-empty-trailer', secret, 'us-east-1', rec, decoded=b'')

    s3.list_parts(Bucket='bkt', Key=key, UploadId='0' * 32, MaxParts=2,
                  PartNumberMarker=1)
    recorded('list-parts', secret, 'us-east-1', rec)

    s3.list_multipart_uploads(Bucket='bkt', Prefix='videos/2026/a b',
                              KeyMarker='k\u00e9y+1', UploadIdMarker='u=1&2',
                              MaxUploads=5)
    recorded('list-uploads', secret, 'us-east-1', rec)

    s3.abort_multipart_upload(Bucket='bkt', Key=key, UploadId='0' * 32)
    recorded('abort', secret, 'us-east-1', rec)

    s3.head_object(Bucket='bkt', Key=key)
    recorded('head', secret, 'us-east-1', rec)

    s3.get_object(Bucket='bkt', Key=key, Range='bytes=0-99',
                  ResponseContentType='video/mp4')
    recorded('get-range', secret, 'us-east-1', rec)

    # http: payloads signed with their sha256
    s3, rec = client('http://127.0.0.1:8080', 'eu-central-1', 'AKID2',
                     odd_secret)

    s3.put_object(Bucket='media', Key=key, Body=data,
                  Metadata={'note': 'tab\tand  spaces'},
                  StorageClass='STANDARD')
    recorded('put-signed', odd_secret, 'eu-central-1', rec, decoded=data)

    s3.upload_part(Bucket='media', Key='k', UploadId='f' * 32,
                   PartNumber=10000, Body=data[:1000])
    recorded('part-signed', odd_secret, 'eu-central-1', rec,
             decoded=data[:1000])

    parts = [{'PartNumber': n, 'ETag': '"%032x"' % (n * 7919)}
             for n in (1, 2, 5, 9999)]
    s3.complete_multipart_upload(Bucket='media', Key=key, UploadId='f' * 32,
                                 MultipartUpload={'Parts': parts})
    recorded('complete', odd_secret, 'eu-central-1', rec, nparts=len(parts))

    s3.create_multipart_upload(Bucket='media', Key='plain.mp4')
    recorded('create-http', odd_secret, 'eu-central-1', rec)

    # presigned URLs, used with a plain client (no extra headers)
    s3, rec = client('https://s3.example.test', 'us-east-1',
                     'AKIAIOSFODNN7EXAMPLE', secret)

    url = s3.generate_presigned_url(
        'upload_part', ExpiresIn=3600,
        Params={'Bucket': 'bkt', 'Key': key, 'UploadId': '0' * 32,
                'PartNumber': 3})
    presigned('presign-part', secret, 'us-east-1', url, 'PUT', 3600)

    url = s3.generate_presigned_url(
        'get_object', ExpiresIn=604800, Params={'Bucket': 'bkt', 'Key': key})
    presigned('presign-get-week', secret, 'us-east-1', url, 'GET', 604800)

    url = s3.generate_presigned_url(
        'put_object', ExpiresIn=60,
        Params={'Bucket': 'bkt', 'Key': 'up/load.bin'})
    presigned('presign-put', secret, 'us-east-1', url, 'PUT', 60)

    s3, rec = client('http://localhost:9000', 'eu-central-1', 'AKID2',
                     odd_secret)
    url = s3.generate_presigned_url(
        'create_multipart_upload', ExpiresIn=1,
        Params={'Bucket': 'media', 'Key': 'x y'})
    presigned('presign-create', odd_secret, 'eu-central-1', url, 'POST', 1)


def parse(operation, status):
    import json
    import botocore.parsers
    import botocore.session

    model = botocore.session.get_session().get_service_model('s3')
    shape = model.operation_model(operation).output_shape
    parser = botocore.parsers.create_parser('rest-xml')
    parsed = parser.parse({'body': sys.stdin.buffer.read(), 'headers': {},
                           'status_code': int(status)}, shape)
    parsed.pop('ResponseMetadata', None)
    print(json.dumps(parsed, default=str, sort_keys=True))


if __name__ == '__main__':
    if len(sys.argv) == 4 and sys.argv[1] == 'parse':
        parse(sys.argv[2], sys.argv[3])
    else:
        main()
