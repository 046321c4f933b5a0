#!/usr/bin/env python3
"""Small boto3 helpers for the store tests (one process instead of many awscli runs).

    s3util.py mb BUCKET...                       create buckets
    s3util.py verify BUCKET PREFIX DIR           every file in DIR is BUCKET/PREFIX+name: same bytes,
                                                 x-amz-meta-sha256 = sha256 of the file
    s3util.py mpu BUCKET                         number of multipart uploads still open
    s3util.py put BUCKET KEY TEXT                put an object with TEXT as its body

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
    if cmd == "mpu":
        print(len(s3.list_multipart_uploads(Bucket=argv[2]).get("Uploads", [])))
        return 0
    if cmd == "put":
        s3.put_object(Bucket=argv[2], Key=argv[3], Body=argv[4].encode())
        return 0
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
