#!/usr/bin/env python3
"""Small boto3 helpers for the store tests (one process instead of many awscli runs).

    s3util.py mb BUCKET...                       create buckets
    s3util.py verify BUCKET PREFIX DIR           every file in DIR is BUCKET/PREFIX+name: same bytes,
                                                 x-amz-meta-sha256 = sha256 of the file
    s3util.py mpu BUCKET                         number of multipart uploads still open
    s3util.py keys BUCKET                        every key in the bucket, one a line
    s3util.py put BUCKET KEY TEXT                put an object with TEXT as its body
    s3util.py location BUCKET                    the bucket's region (us-east-1 when S3 says none),
                                                 or the error code (NoSuchBucket)
    s3util.py corrupt BUCKET KEY                 rewrite an object with one byte changed, keeping its size
                                                 and metadata (x-amz-meta-sha256 then lies)
    s3util.py checksums BUCKET PREFIX DIR PART   every object's stored SHA-256 checksum (S3 flexible
                                                 checksums) is the file's: the SHA-256 of the bytes
                                                 for a single PUT; for a multipart object, the
                                                 SHA-256 of the parts' digests (PART bytes each), "-N"

Endpoint and credentials come from AWS_ENDPOINT_URL / AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
"""
import hashlib
import os
import sys

import boto3


def client():
    return boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")


def main(argv):
    s3 = client()
    cmd = argv[1]
    if cmd == "mb":
        for b in argv[2:]:
            s3.create_bucket(Bucket=b)
        return 0
    if cmd == "keys":
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=argv[2]):
            for o in page.get("Contents", []):
                print(o["Key"])
        return 0
    if cmd == "mpu":
        print(len(s3.list_multipart_uploads(Bucket=argv[2]).get("Uploads", [])))
        return 0
    if cmd == "location":
        try:
            print(s3.get_bucket_location(Bucket=argv[2]).get("LocationConstraint") or "us-east-1")
        except s3.exceptions.ClientError as e:
            print(e.response["Error"]["Code"])
        return 0
    if cmd == "put":
        s3.put_object(Bucket=argv[2], Key=argv[3], Body=argv[4].encode())
        return 0
    if cmd == "corrupt":
        o = s3.get_object(Bucket=argv[2], Key=argv[3])
        data = bytearray(o["Body"].read())
        data[len(data) // 2] ^= 0xFF
        s3.put_object(Bucket=argv[2], Key=argv[3], Body=bytes(data), Metadata=o["Metadata"])
        return 0
    if cmd == "checksums":
        import base64
        bucket, prefix, d, part = argv[2], argv[3], argv[4], int(argv[5])
        bad = n = 0
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), "rb") as f:
                data = f.read()
            h = s3.head_object(Bucket=bucket, Key=prefix + name, ChecksumMode="ENABLED")
            got = h.get("ChecksumSHA256")
            etag = h["ETag"].strip('"')
            if "-" in etag:
                digests = b"".join(hashlib.sha256(data[i:i + part]).digest() for i in range(0, len(data), part))
                want = base64.b64encode(hashlib.sha256(digests).digest()).decode()
                # S3 qualifies a composite checksum with "-<parts>" (moto leaves it off)
                if got and got.endswith("-%d" % ((len(data) + part - 1) // part)):
                    got = got.rsplit("-", 1)[0]
            else:
                want = base64.b64encode(hashlib.sha256(data).digest()).decode()
            if got != want:
                print("CHECKSUM", name, got, want)
                bad += 1
            n += 1
        print("checksums", n, "bad", bad)
        return 1 if bad else 0
    if cmd == "verify":
        bucket, prefix, d = argv[2], argv[3], argv[4]
        bad = 0
        n = 0
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), "rb") as f:
                data = f.read()
            want = hashlib.sha256(data).hexdigest()
            o = s3.get_object(Bucket=bucket, Key=prefix + name)
            got = o["Body"].read()
            meta = o.get("Metadata", {}).get("sha256")
            if got != data or meta != want:
                print("MISMATCH", name, len(got), len(data), meta, want)
                bad += 1
            n += 1
        print("verified", n, "bad", bad)
        return 1 if bad else 0
    print("unknown command", cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
