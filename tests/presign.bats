#!/usr/bin/env bats
# presign: SigV4 query signing, byte for byte as botocore signs at the same frozen instant, and URLs
# that work against moto (its signature checking is off here: moto answers 500 to any query-signed
# request while checking is on, a moto limitation).
load helper
bats_require_minimum_version 1.5.0

setup_file() {
  start_moto
  python3 "$REPO/tests/s3util.py" mb tb-pre
  python3 "$REPO/tests/s3util.py" put tb-pre "dir/hello world+?.txt" "hello presigned"
}

teardown_file() { stop_moto; }

setup() {
  export AWS_ENDPOINT_URL="$MOTO_URL"
  # faketime is an LD_PRELOAD library: let an ASan build run under it
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
  cd "$BATS_TEST_TMPDIR"
}

# The query parameters sorted, one per line (botocore orders X-Amz-Security-Token differently).
params() { local u=$1; echo "${u%%\?*}"; tr '&' '\n' <<<"${u#*\?}" | sort; }

botocore_url() { # METHOD BUCKET KEY
  faketime -f '2026-06-01 12:00:00' python3 - "$@" <<'PY'
import os, sys, boto3
from botocore.config import Config
m, b, k = sys.argv[1:4]
c = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1",
                 aws_session_token=os.environ.get("AWS_SESSION_TOKEN"),
                 config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
op = "get_object" if m == "GET" else "put_object"
print(c.generate_presigned_url(op, Params={"Bucket": b, "Key": k}, ExpiresIn=900))
PY
}

@test "presign: identical to botocore's URL at a frozen time (GET, PUT, odd key, session token)" {
  for m in GET PUT; do
    ours=$(faketime -f '2026-06-01 12:00:00' trainbox presign --method $m --expires 900 "s3://tb-pre/dir/hello world+?.txt")
    [ "$ours" = "$(botocore_url $m tb-pre "dir/hello world+?.txt")" ]
    [[ "$ours" == *"/tb-pre/dir/hello%20world%2B%3F.txt?"* ]]
  done
  export AWS_SESSION_TOKEN='FQoGZXIvYXdzE/token+with/slashes=='
  ours=$(faketime -f '2026-06-01 12:00:00' trainbox presign --expires 900 s3://tb-pre/a/b.txt)
  [ "$(params "$ours")" = "$(params "$(botocore_url GET tb-pre a/b.txt)")" ]
  [[ "$ours" == *X-Amz-Security-Token=FQoGZXIvYXdzE%2Ftoken%2Bwith%2Fslashes%3D%3D* ]]
}

@test "presign: a GET URL downloads the object and a PUT URL uploads one" {
  url=$(trainbox presign "s3://tb-pre/dir/hello world+?.txt")
  run curl -sf "$url"
  assert_success
  assert_output "hello presigned"
  url=$(trainbox presign --method PUT s3://tb-pre/up.txt)
  echo "via presigned PUT" >body
  curl -sf -T body "$url"   # (not --data-binary: moto would parse a form body and store nothing)
  run curl -sf "$(trainbox presign s3://tb-pre/up.txt)"
  assert_output "via presigned PUT"
}

@test "presign: usage errors and unsupported locations exit 64" {
  run --separate-stderr trainbox presign
  assert_failure 64
  run --separate-stderr trainbox presign --method POST s3://tb-pre/x
  assert_failure 64
  run --separate-stderr trainbox presign --expires 0 s3://tb-pre/x
  assert_failure 64
  run --separate-stderr trainbox presign s3://tb-pre/
  assert_failure 64
  run --separate-stderr trainbox presign ./local/file
  assert_failure 64
}

@test "presign: the URL carries the signing instant and --expires" {
  url=$(faketime -f '2026-06-01 12:00:00' trainbox presign --expires 60 s3://tb-pre/x)
  [[ "$url" == *"X-Amz-Date=20260601T120000Z"* && "$url" == *"X-Amz-Expires=60&"* ]]
  [[ "$url" == *"%2F20260601%2Fus-east-1%2Fs3%2Faws4_request"* ]]
  [[ "$url" =~ X-Amz-Signature=[0-9a-f]{64}$ ]]
}

@test "presign: missing credentials exit 77" {
  run --separate-stderr env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY trainbox presign s3://tb-pre/x
  assert_failure 77
}

@test "presign: addressing per scheme (AWS virtual-host, r2:// from R2_ACCOUNT_ID, gs://, region auto)" {
  unset AWS_ENDPOINT_URL
  run trainbox presign s3://my-bucket/k/a.tar
  assert_success
  [[ "$output" == "https://my-bucket.s3.us-east-1.amazonaws.com/k/a.tar?"* ]]
  run trainbox presign s3://dotted.bucket/k
  [[ "$output" == "https://s3.us-east-1.amazonaws.com/dotted.bucket/k?"* ]]
  R2_ACCOUNT_ID=acct123 R2_ACCESS_KEY_ID=r2key R2_SECRET_ACCESS_KEY=r2secret run trainbox presign r2://bkt/x.tar
  assert_success
  [[ "$output" == "https://acct123.r2.cloudflarestorage.com/bkt/x.tar?"* ]]
  [[ "$output" == *"Credential=r2key%2F"*"%2Fauto%2Fs3%2Faws4_request"* ]]
  run --separate-stderr env -u R2_ACCOUNT_ID trainbox presign r2://bkt/x.tar
  assert_failure 64
  GS_ACCESS_KEY_ID=GOOGkey GS_SECRET_ACCESS_KEY=gsecret run trainbox presign gs://gbkt/y.tar
  [[ "$output" == "https://storage.googleapis.com/gbkt/y.tar?"* && "$output" == *"Credential=GOOGkey%2F"*"%2Fauto%2F"* ]]
  # az:// presigns as a service SAS; without the account key that is a credentials error
  run --separate-stderr env -u AZURE_STORAGE_KEY -u AZURE_STORAGE_ACCOUNT trainbox presign az://acct/cont/blob
  assert_failure 77
  AZURE_STORAGE_ACCOUNT=acct AZURE_STORAGE_KEY=$(printf 'k%.0s' {1..32} | base64 -w0) run --separate-stderr trainbox presign az://acct/cont/blob
  assert_success
  [[ "$output" == "https://acct.blob.core.windows.net/cont/blob?"*"sig="* ]]
}
