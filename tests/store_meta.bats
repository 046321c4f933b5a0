#!/usr/bin/env bats
# The store layer's mtime metadata and server-side copy (lib/store TB_OP_COPY), through the test
# driver build/drivers/store_cli: against moto with the real rclone as the peer (rclone's
# X-Amz-Meta-Mtime read and written both ways), CopyObject signed (moto with signature checking on),
# and Copy Blob From URL on Azurite.
bats_require_minimum_version 1.5.0
load helper

setup_file() {
  start_moto
  moto_create_key   # signature checking is turned on only around the copy tests (moto's '/' quirk)
  python3 "$REPO/tests/s3util.py" mb tb-meta tb-copy
  start_azurite
}

teardown_file() {
  stop_moto
  stop_azurite
}

setup() {
  export AWS_ENDPOINT_URL="$MOTO_URL"
  S="$REPO/${TB_BUILD:-build}/drivers/store_cli"
  [ -x "$S" ] || fail "store_cli not built (make unit)"
  # rclone on moto, from the environment only (TESTING.md: AWS_CA_BUNDLE must not be set)
  export RCLONE_CONFIG=/dev/null RCLONE_CONFIG_MOTO_TYPE=s3 RCLONE_CONFIG_MOTO_PROVIDER=Other \
    RCLONE_CONFIG_MOTO_ENDPOINT="$MOTO_URL" RCLONE_CONFIG_MOTO_FORCE_PATH_STYLE=true \
    RCLONE_CONFIG_MOTO_REGION=us-east-1 RCLONE_CONFIG_MOTO_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" \
    RCLONE_CONFIG_MOTO_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY"
  unset AWS_CA_BUNDLE
  cd "$BATS_TEST_TMPDIR"
}

teardown() {
  [ -z "${AUTH_ON:-}" ] || moto_auth off
}

# field NAME LINE: the NAME=V field of a store_cli info line
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

@test "mtime: an object rclone uploaded has a meta_mtime trainbox parses to the file's mtime" {
  command -v rclone >/dev/null || skip "rclone is not installed"
  mkdir d
  echo one >d/frac; touch -d @1735776000.123456789 d/frac
  echo two >d/whole; touch -d @1735776000 d/whole
  echo three >d/old; touch -d '1969-07-20 20:17:40.5 UTC' d/old
  rclone copy d moto:tb-meta/rc
  for f in frac whole old; do
    run --separate-stderr "$S" head "s3://tb-meta/rc/$f"
    assert_success
    [ "$(field mtime_ns "$output")" = "$(stat -c %.9Y "d/$f")" ] || fail "$f: $output vs $(stat -c %.9Y "d/$f")"
  done
  # what rclone wrote, as it wrote it: decimal seconds, the fraction's trailing zeros trimmed
  [ "$(aws --endpoint-url "$MOTO_URL" s3api head-object --bucket tb-meta --key rc/whole | jq -r .Metadata.mtime)" = 1735776000 ]
  run --separate-stderr "$S" head s3://tb-meta/rc/whole
  [ "$(field meta_mtime "$output")" = 1735776000 ]
  run --separate-stderr "$S" head s3://tb-meta/rc/old
  [ "$(field meta_mtime "$output")" = -14182939.5 ]
}

@test "mtime: a value trainbox stores is the modtime rclone reports, and rclone then sees nothing to copy" {
  command -v rclone >/dev/null || skip "rclone is not installed"
  run --separate-stderr "$S" -M 1700000000.5 putmem s3://tb-meta/tb/a hello
  assert_success
  [ "$(field meta_mtime "$output")" = 1700000000.5 ]
  printf 'x%.0s' $(seq 3000) >big
  run --separate-stderr "$S" -M 1600000000 -p 5242880 mput s3://tb-meta/tb/big big
  assert_success
  run env TZ=UTC rclone lsl moto:tb-meta/tb
  assert_success
  assert_line --partial '        5 2023-11-14 22:13:20.500000000 a'
  assert_line --partial '     3000 2020-09-13 12:26:40.000000000 big'
  mt=$(TZ=UTC rclone lsjson moto:tb-meta/tb/a | jq -r '.[0].ModTime')
  [[ "$mt" =~ ^2023-11-14T22:13:20\.50*Z$ ]] || fail "lsjson ModTime $mt"
  # the same bytes with the same mtime locally: rclone's size+mtime check finds them current
  mkdir l; printf hello >l/a; touch -d @1700000000.5 l/a; cp big l/big; touch -d @1600000000 l/big
  run rclone copy -v --dry-run l moto:tb-meta/tb
  assert_success
  assert_output --partial 'There was nothing to transfer'
  refute_output --partial 'Skipped'   # neither a copy nor a modification time to update
  rclone check l moto:tb-meta/tb
  # ...and the check is live: one second off and rclone would act on it (same bytes: fix the mtime)
  touch -d @1700000001.5 l/a
  run rclone copy -v --dry-run l moto:tb-meta/tb
  assert_output --partial 'a: Skipped update modification time as --dry-run is set'
}

@test "mtime: a stored value that is not one is no meta_mtime" {
  printf abc >f
  aws --endpoint-url "$MOTO_URL" s3api put-object --bucket tb-meta --key bad/f --body f --metadata mtime=yesterday >/dev/null
  run --separate-stderr "$S" head s3://tb-meta/bad/f
  assert_success
  refute_output --partial meta_mtime
  # and none is sent: a meta_mtime that is not one is a usage error before any request, every store
  for u in s3://tb-meta/bad/g "file://$BATS_TEST_TMPDIR/g"; do
    run --separate-stderr "$S" -M 12abc putmem "$u" hello
    assert_failure 64
    [[ "$stderr" == *"'12abc' is not an mtime"* ]]
  done
  run --separate-stderr "$S" head s3://tb-meta/bad/g
  assert_output --partial exists=0
}

@test "copy on S3: CopyObject keeps bytes and metadata; new metadata replaces only itself; signed" {
  moto_auth on; AUTH_ON=1
  printf 'x%.0s' $(seq 4000) >src
  sha=$(sha256sum <src | cut -d' ' -f1)
  run --separate-stderr "$S" -M 1735776000.25 -p 5242880 mput "s3://tb-copy/dir with space/src_1" src
  assert_success
  run --separate-stderr "$S" copy "s3://tb-copy/copy/a" "dir with space/src_1"
  assert_success
  assert_output --partial "exists=1"
  run --separate-stderr "$S" head s3://tb-copy/copy/a
  assert_output --partial "size=4000"
  assert_output --partial "sha256=$sha"
  [ "$(field meta_mtime "$output")" = 1735776000.25 ]
  [ "$("$S" sha s3://tb-copy/copy/a 2>/dev/null | head -1)" = "4000 $sha" ]
  # a new mtime: REPLACE, with the source's sha256 and content type carried across
  run --separate-stderr "$S" -M 1000000000 copy s3://tb-copy/copy/b "dir with space/src_1"
  assert_success
  [ "$(field meta_mtime "$output")" = 1000000000 ]
  assert_output --partial "size=4000 md5= sha256=$sha"
  run --separate-stderr "$S" head s3://tb-copy/copy/b
  assert_output --partial "sha256=$sha"
  [ "$(field meta_mtime "$output")" = 1000000000 ]
  moto_auth off; AUTH_ON=
  h=$(aws --endpoint-url "$MOTO_URL" s3api head-object --bucket tb-copy --key copy/b)
  [ "$(jq -r .ContentType <<<"$h")" = application/x-tar ]
  [ "$(jq -r .Metadata.sha256 <<<"$h")" = "$sha" ]
  [ "$(jq -r .Metadata.mtime <<<"$h")" = 1000000000 ]
  # keys with '+' (moto's signature check mishandles them, awscli's too: checked with it off)
  run --separate-stderr "$S" copy "s3://tb-copy/copy/a+b" "dir with space/src_1"
  assert_success
  [ "$("$S" sha "s3://tb-copy/copy/a+b" 2>/dev/null | head -1)" = "4000 $sha" ]
  # a new sha256 only: the mtime stays
  run --separate-stderr "$S" -S "$(printf %064d 0)" copy s3://tb-copy/copy/c copy/b
  assert_success
  run --separate-stderr "$S" head s3://tb-copy/copy/c
  assert_output --partial "sha256=$(printf %064d 0)"
  [ "$(field meta_mtime "$output")" = 1000000000 ]
}

@test "copy on S3: a missing source is 66, with or without new metadata; a wrong secret is 77" {
  moto_auth on; AUTH_ON=1
  run --separate-stderr "$S" copy s3://tb-copy/x/dst nope/missing
  assert_failure 66
  run --separate-stderr "$S" -M 5 copy s3://tb-copy/x/dst nope/missing
  assert_failure 66
  [[ "$stderr" == *'the source s3://tb-copy/nope/missing does not exist'* ]]
  run --separate-stderr env AWS_SECRET_ACCESS_KEY=wrong "$S" copy s3://tb-copy/x/dst nope/missing
  assert_failure 77
  run --separate-stderr "$S" head s3://tb-copy/x/dst
  assert_output --partial exists=0
}

@test "copy on Azure: Copy Blob From URL keeps bytes and metadata; mtime is rclone's RFC 3339 on the wire" {
  export AZURE_STORAGE_CONNECTION_STRING="$AZ_CONN"
  U=az://devstoreaccount1/meta-copy
  "$S" mkroot "$U"
  printf 'hello azure' >src
  sha=$(sha256sum <src | cut -d' ' -f1)
  run --separate-stderr "$S" -M 1735776000.5 put "$U/a/src" src
  assert_success
  [ "$(field meta_mtime "$output")" = 1735776000.5 ]
  # the stored form is rclone azureblob's (RFC 3339, nine fraction digits), read with curl
  url=$("$S" presign "$U/a/src" GET 600 2>/dev/null)
  run curl -sfI "$url"
  assert_success
  assert_output --partial 'x-ms-meta-mtime: 2025-01-02T00:00:00.500000000Z'
  run --separate-stderr "$S" head "$U/a/src"
  [ "$(field meta_mtime "$output")" = 1735776000.5 ]
  run --separate-stderr "$S" copy "$U/b/dst" a/src
  assert_success
  run --separate-stderr "$S" head "$U/b/dst"
  assert_output --partial "size=11"
  assert_output --partial "sha256=$sha"
  [ "$(field meta_mtime "$output")" = 1735776000.5 ]
  [ "$("$S" getmem "$U/b/dst" 2>/dev/null)" = 'hello azure' ]
  run --separate-stderr "$S" -M 1600000000 copy "$U/b/dst2" a/src
  assert_success
  run --separate-stderr "$S" head "$U/b/dst2"
  assert_output --partial "sha256=$sha"
  [ "$(field meta_mtime "$output")" = 1600000000 ]
  # listings carry the metadata (include=metadata): the mtime comes without a HEAD per blob
  run --separate-stderr "$S" -T list "$U/b/"
  assert_success
  assert_line "b/dst 11 $(openssl md5 -binary src | base64) $sha 1735776000.5"
  assert_line "b/dst2 11 $(openssl md5 -binary src | base64) $sha 1600000000"
  run --separate-stderr "$S" -M 1 copy "$U/b/dst3" a/missing
  assert_failure 66
  run --separate-stderr "$S" copy "$U/b/dst3" a/missing
  assert_failure 66
}

@test "copy: capabilities say how large an object each store copies" {
  export AZURE_STORAGE_CONNECTION_STRING="$AZ_CONN"
  run --separate-stderr "$S" caps s3://tb-copy
  [ "$stderr" = "copy_max=5368709120" ] || [[ "$stderr" == copy_max=5368709120* ]]
  run --separate-stderr "$S" caps az://devstoreaccount1/meta-copy
  [[ "$stderr" == copy_max=268435456* ]]
  run --separate-stderr "$S" caps "file://$BATS_TEST_TMPDIR"
  [[ "$stderr" == copy_max=18446744073709551615* ]]
}
