#!/usr/bin/env bats
# The Azure Blob backend (lib/store_azure over lib/http, lib/azkey) against a real Azurite, which
# checks Shared Key signatures: through trainbox's own commands (upload, manifest, discover, presign)
# wherever one does the job, and through build/drivers/store_cli (tests/drivers/store_cli.c:
# lib/store's requests one by one) to read objects back, list page by page, create containers and
# damage a dataset behind trainbox's back.
bats_require_minimum_version 1.5.0
load helper

setup_file() {
  start_azurite
}

teardown_file() {
  stop_azurite
  stop_pid "${FLAKY_PID:-}"
}

setup() {
  S="$REPO/${TB_BUILD:-build}/drivers/store_cli"
  [ -x "$S" ] || fail "store_cli not built (make unit)"
  export AZURE_STORAGE_CONNECTION_STRING="$AZ_CONN"
  CONT="c$BATS_TEST_NUMBER-test"
  U="az://devstoreaccount1/$CONT"
  run "$S" mkroot "$U"
  assert_success
  cd "$BATS_TEST_TMPDIR"
}

# Every test's proxy is stopped by PID, whether the test passed or not.
teardown() {
  stop_pid "${FLAKY_PID:-}"
  FLAKY_PID=
}

# flaky_proxy N [MATCH]: a proxy to Azurite failing the first N matching requests with 503.
flaky_proxy() {
  FLAKY_PORT=$(free_port)
  FLAKY_COUNT_FILE="$BATS_TEST_TMPDIR/flaky.count" python3 "$REPO/tests/az_flaky_proxy.py" \
    "$FLAKY_PORT" "$AZURITE_PORT" "$@" 3>&- &
  FLAKY_PID=$!
  az_wait_port "$FLAKY_PORT"
  export AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$AZ_DEV_KEY;BlobEndpoint=http://127.0.0.1:$FLAKY_PORT/devstoreaccount1"
}

# md5b64 FILE: the Content-MD5 form (base64 of the 16 bytes); sha FILE: hex SHA-256
md5b64() { md5sum < "$1" | cut -c1-32 | xxd -r -p | base64; }
sha() { sha256sum < "$1" | cut -c1-64; }

@test "azure: creating a container: again is not an error; the driver's caps say public read works here" {
  run "$S" mkroot "$U"
  assert_success
  run "$S" mkroot "az://devstoreaccount1/fresh$BATS_TEST_NUMBER"
  assert_success
  run "$S" putmem "az://devstoreaccount1/fresh$BATS_TEST_NUMBER/k" 'in a new container'
  assert_success
  run --separate-stderr "$S" get "az://devstoreaccount1/fresh$BATS_TEST_NUMBER/k"
  assert_output 'in a new container'
  run --separate-stderr "$S" caps "$U"
  assert_output 'create_root=1 public_root=1 presign=1'
  run "$S" mkroot "az://devstoreaccount1/ab"
  assert_failure 64
  export AZURE_STORAGE_CONNECTION_STRING="AccountName=devstoreaccount1;AccountKey=${AZ_DEV_KEY/Eby8/Xby8};BlobEndpoint=$AZURITE_ENDPOINT"
  run "$S" mkroot "az://devstoreaccount1/other$BATS_TEST_NUMBER"
  assert_failure 77
}

@test "azure: small blob upload, head, get, list, delete with a literal odd name" {
  name='a b+c?d#e%20é.txt'
  printf 'hello azure\n' > "$name"
  run --separate-stderr trainbox upload --progress=none "$U/dir/" -- "$name"
  assert_success
  assert_line --index 1 "$(trailer 1)"
  sed -n 1p <<<"$output" | jq -e --arg u "$U/dir/$name" --arg s "$(sha "$name")" '.uri == $u and .bytes == 12 and .sha256 == $s'
  run --separate-stderr "$S" head "$U/dir/$name"
  assert_success
  assert_output "exists=1 size=12 md5=$(md5b64 "$name") sha256=$(sha "$name") etag=yes mtime=yes"
  run --separate-stderr "$S" get "$U/dir/$name"
  assert_success
  assert_output 'hello azure'
  run --separate-stderr "$S" list "$U"
  assert_output "dir/$name 12 $(md5b64 "$name") $(sha "$name")"
  run "$S" delete "$U/dir/$name"
  assert_success
  run --separate-stderr "$S" head "$U/dir/$name"
  assert_success
  assert_output --partial 'exists=0'
  run "$S" get "$U/dir/$name"
  assert_failure 66
  assert_output --partial 'BlobNotFound'
}

@test "azure: empty blob round-trips" {
  : > empty
  run --separate-stderr trainbox upload --progress=none "$U/" -- empty
  assert_success
  run --separate-stderr "$S" head "$U/empty"
  assert_output --partial "exists=1 size=0 md5=$(md5b64 empty)"
  [ "$(md5b64 empty)" = 1B2M2Y8AsgTpgAmY7PhCfg== ]
  "$S" get "$U/empty" > got 2>/dev/null
  assert_equal "$(stat -c %s got)" 0
}

@test "azure: a block-list upload reads back byte for byte, with its hashes" {
  head -c 1000003 /dev/urandom > big.bin
  md5=$(md5b64 big.bin) sha=$(sha big.bin)
  # trainbox upload in blocks: sha256 metadata, no whole-object MD5 (upload sends none with blocks)
  run --separate-stderr trainbox upload --progress=none -j 3 --part-size 64KiB --multipart-threshold 64KiB "$U/shards/" -- big.bin
  assert_success
  "$S" get "$U/shards/big.bin" > got 2>/dev/null
  cmp got big.bin
  run --separate-stderr "$S" head "$U/shards/big.bin"
  assert_output --partial "exists=1 size=1000003 md5= sha256=$sha"
  # the store's block list also carries the whole object's MD5 when a caller gives one
  run --separate-stderr "$S" -j 3 -p 65536 mput "$U/shards/big2.bin" big.bin
  assert_success
  assert_output "exists=1 size=1000003 md5=$md5 sha256=$sha etag=yes mtime=yes"
  run --separate-stderr "$S" head "$U/shards/big2.bin"
  assert_output "exists=1 size=1000003 md5=$md5 sha256=$sha etag=yes mtime=yes"
  "$S" get "$U/shards/big2.bin" > got 2>/dev/null
  cmp got big.bin
  run --separate-stderr "$S" list "$U/shards/"
  assert_output "shards/big.bin 1000003  $sha
shards/big2.bin 1000003 $md5 $sha"
}

@test "azure: byte ranges (inside a block, across blocks, to the end, past the end)" {
  head -c 300000 /dev/urandom > big.bin
  trainbox upload --progress=none --part-size 64KiB --multipart-threshold 64KiB "$U/" -- big.bin >/dev/null
  "$S" get "$U/big.bin" 10 20 > got 2>/dev/null
  cmp got <(tail -c +11 big.bin | head -c 20)
  "$S" get "$U/big.bin" 65000 2000 > got 2>/dev/null
  cmp got <(tail -c +65001 big.bin | head -c 2000)
  "$S" get "$U/big.bin" 299990 > got 2>/dev/null
  cmp got <(tail -c 10 big.bin)
  run "$S" get "$U/big.bin" 400000 5
  assert_failure 65
  assert_output --partial 'HTTP 416'
}

@test "azure: wrong account key is refused with 77, and the key is never printed" {
  printf 'x' > x
  bad=${AZ_DEV_KEY/Eby8/Xby8}
  export AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$bad;BlobEndpoint=$AZURITE_ENDPOINT"
  run trainbox upload --progress=none "$U/" -- x
  assert_failure 77
  assert_output --partial 'HTTP 403'
  refute_output --partial "$bad"
  run trainbox discover --objects "$U"
  assert_failure 77
  refute_output --partial "$bad"
  run "$S" put "$U/x" x
  assert_failure 77
  refute_output --partial "$bad"
}

@test "azure: credentials for another account are refused before any request" {
  run trainbox discover "az://someoneelse/$CONT/x"
  assert_failure 77
  assert_output --partial 'credentials are for account devstoreaccount1'
  printf 'x' > x
  run trainbox upload --progress=none "az://someoneelse/$CONT/" -- x
  assert_failure 77
  assert_output --partial 'credentials are for account devstoreaccount1'
}

@test "azure: AZURE_STORAGE_ACCOUNT/KEY with an explicit blob endpoint" {
  unset AZURE_STORAGE_CONNECTION_STRING
  export AZURE_STORAGE_ACCOUNT=devstoreaccount1 AZURE_STORAGE_KEY="$AZ_DEV_KEY" AZURE_STORAGE_BLOB_ENDPOINT="$AZURITE_ENDPOINT/"
  printf 'env' > env
  run --separate-stderr trainbox upload --progress=none "$U/" -- env
  assert_success
  run --separate-stderr "$S" get "$U/env"
  assert_output 'env'
}

@test "azure: listing crosses pages (maxresults 3) and groups by delimiter" {
  for i in 01 02 03 04 05 06 07 08 09 10; do
    "$S" putmem "$U/p/f$i" "n$i" >/dev/null 2>&1
  done
  "$S" putmem "$U/p/sub/a" x >/dev/null 2>&1
  "$S" putmem "$U/p/sub/b" x >/dev/null 2>&1
  "$S" putmem "$U/q" x >/dev/null 2>&1
  run --separate-stderr "$S" -m 3 list "$U/p/"
  assert_success
  assert_equal "${#lines[@]}" 12
  assert_equal "$(printf '%s\n' "${lines[@]}" | cut -d' ' -f1 | sort -u | wc -l)" 12
  assert_line --index 0 --partial 'p/f01 3 '
  assert_line --index 11 --partial 'p/sub/b 1 '
  [[ "$stderr" == *pages=4* ]]
  run --separate-stderr "$S" -m 2 list "$U/p/" /
  assert_success
  assert_equal "${#lines[@]}" 11
  assert_line 'PRE p/sub/'
  refute_line --partial 'p/sub/a'
  printf x > x
  run --separate-stderr "$S" -m 2 list "$U" /
  assert_output "q 1 $(md5b64 x) $(sha x)
PRE p/"
}

@test "azure: no-clobber put refuses an existing blob and leaves it alone" {
  printf 'first' > a
  printf 'second' > b
  run "$S" -n put "$U/k" a
  assert_success
  run "$S" -n put "$U/k" b
  assert_failure 65
  assert_output --partial 'BlobAlreadyExists'
  head -c 200000 /dev/urandom > big
  run "$S" -n -p 65536 mput "$U/k" big
  assert_failure 65
  assert_line 'retries=0 precond=1'
  run --separate-stderr "$S" get "$U/k"
  assert_output 'first'
  run "$S" put "$U/k" b
  assert_success
  run --separate-stderr "$S" get "$U/k"
  assert_output 'second'
}

@test "azure: missing container or blob is 66; deleting what is not there is not an error" {
  run "$S" get "az://devstoreaccount1/nosuchcontainer/x"
  assert_failure 66
  run "$S" list "az://devstoreaccount1/nosuchcontainer"
  assert_failure 66
  assert_output --partial 'ContainerNotFound'
  run trainbox discover --objects "az://devstoreaccount1/nosuchcontainer/"
  assert_failure 66
  assert_output --partial 'ContainerNotFound'
  # lib/store's DELETE contract: a missing object is an answer, not a failure
  run "$S" delete "$U/nothing"
  assert_success
  run "$S" get "$U/nothing"
  assert_failure 66
}

@test "azure: 503 ServerBusy is retried, single requests and blocks" {
  flaky_proxy 2
  printf 'busy' > s
  run --separate-stderr trainbox upload --progress=json --retries 4 "$U/" -- s
  assert_success
  grep '"event":"end"' <<<"$stderr" | jq -e '.retries == 2'
  run --separate-stderr "$S" get "$U/s"
  assert_output 'busy'
  stop_pid "$FLAKY_PID"
  flaky_proxy 3 comp=block
  head -c 400000 /dev/urandom > big.bin
  run --separate-stderr trainbox upload --progress=json --retries 5 -j 4 --part-size 64KiB --multipart-threshold 64KiB "$U/" -- big.bin
  assert_success
  grep '"event":"end"' <<<"$stderr" | jq -e '.retries == 3'
  assert_equal "$(cat "$BATS_TEST_TMPDIR/flaky.count")" 3
  "$S" get "$U/big.bin" > got 2>/dev/null
  cmp got big.bin
}

@test "azure: a service that stays busy gives 69 after the retries" {
  flaky_proxy 1000
  printf 'x' > x
  run --separate-stderr trainbox upload --progress=json --retries 3 "$U/" -- x
  assert_failure 69
  [[ "$stderr" == *'HTTP 503 ServerBusy'* ]]
  grep '"event":"end"' <<<"$stderr" | jq -e '.retries == 2'
  run "$S" -r 3 put "$U/x" x
  assert_failure 69
  assert_output --partial 'HTTP 503 ServerBusy'
  assert_line 'retries=2 precond=0'
  head -c 200000 /dev/urandom > big.bin
  run "$S" -r 1 -p 65536 mput "$U/big" big.bin
  assert_failure 69
}

@test "azure: nothing listening gives 69" {
  port=$(free_port)
  export AZURE_STORAGE_CONNECTION_STRING="AccountName=devstoreaccount1;AccountKey=$AZ_DEV_KEY;BlobEndpoint=http://127.0.0.1:$port/devstoreaccount1"
  printf 'x' > x
  run trainbox upload --progress=none --retries 1 "$U/" -- x
  assert_failure 69
  assert_output --partial "127.0.0.1 port $port"
  run "$S" -r 1 head "$U/x"
  assert_failure 69
  assert_output --partial "127.0.0.1 port $port"
}

@test "azure: bad container names are usage errors before any request" {
  run trainbox upload --progress=none "az://devstoreaccount1/ab/" -- /dev/null
  assert_failure 64
  assert_output --partial 'container name has 3 to 63'
  run trainbox discover "az://devstoreaccount1/Upper"
  assert_failure 64
  run trainbox discover --objects "az://devstoreaccount1/a--b"
  assert_failure 64
  run "$S" mkroot "az://devstoreaccount1/Upper"
  assert_failure 64
}

@test "azure: manifest writes, shows and verifies (--deep, --jobs) a dataset stored on az://" {
  mkdir out
  for i in 0 1 2 3 4 5; do head -c $((70000 + i * 10)) /dev/urandom > "out/train-00000$i.tar"; done
  trainbox upload --progress=none --part-size 64KiB --multipart-threshold 64KiB "$U/ds/" -- out/*.tar >/dev/null
  for f in out/*.tar; do
    printf '{"path":"%s","uri":"%s","bytes":%s,"sha256":"%s","md5":"%s","samples":10,"split":"train"}\n' \
      "$f" "$U/ds/${f#out/}" "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -c1-64)" "$(md5sum "$f" | cut -c1-32)"
  done > records.jsonl
  trailer 6 >> records.jsonl
  run trainbox manifest --name ds -o "$U/ds/manifest.json" records.jsonl
  assert_success
  run --separate-stderr "$S" head "$U/ds/manifest.json"
  assert_success
  assert_output --partial 'exists=1'
  run --separate-stderr trainbox manifest show "$U/ds/manifest.json"
  assert_success
  jq -e '.shards == 6 and .samples == 60' <<<"$output"
  run trainbox manifest verify --deep --jobs 3 "$U/ds/manifest.json"
  assert_success
  "$S" delete "$U/ds/train-000002.tar" 2>/dev/null
  "$S" putmem "$U/ds/train-000004.tar" corrupted >/dev/null 2>&1
  run --separate-stderr trainbox manifest verify "$U/ds/manifest.json"
  assert_failure 1
  assert_line --index 0 --partial '"missing"'
  assert_line --index 1 --partial '"size"'
}

@test "azure: discover lists an az:// prefix across pages of the listing" {
  for i in $(seq -w 0 11); do "$S" putmem "$U/data/train-0000$i.tar" "shard $i" >/dev/null 2>&1; done
  "$S" putmem "$U/database/not-this-000001.tar" x >/dev/null 2>&1
  run --separate-stderr trainbox discover --min-size 1 "$U/data"
  assert_success
  assert_equal "${#lines[@]}" 1
  jq -e '.count == 12 and .pattern == "train-%06d.tar"' <<<"$output"
  run --separate-stderr trainbox discover --objects "$U/data/"
  assert_equal "${#lines[@]}" 12
  run trainbox discover "az://devstoreaccount1/nosuchcontainer/x"
  assert_failure 66
}

# ---- the lib/store backend (lib/store_azure.c) through lib/http, via build/drivers/store_cli ----

@test "azure store backend: put, head, get, ranges, list, delete of a small blob" {
  name='d/a b+c?#%20é.txt'
  printf 'hello store\n' > s.txt
  md5b64=$(md5sum < s.txt | cut -c1-32 | xxd -r -p | base64) sha=$(sha256sum < s.txt | cut -c1-64)
  run "$S" put "$U/$name" s.txt
  assert_success
  assert_line "exists=1 size=12 md5=$md5b64 sha256=$sha etag=yes mtime=yes"
  run "$S" head "$U/$name"
  assert_line "exists=1 size=12 md5=$md5b64 sha256=$sha etag=yes mtime=yes"
  run --separate-stderr "$S" get "$U/$name"
  assert_output 'hello store'
  run --separate-stderr "$S" get "$U/$name" 6 5
  assert_output 'store'
  run --separate-stderr "$S" getmem "$U/$name"
  assert_output 'hello store'
  run --separate-stderr "$S" list "$U/d/"
  assert_output "$name 12 $md5b64 $sha"
  run "$S" delete "$U/$name"
  assert_success
  run "$S" head "$U/$name"
  assert_success
  assert_line --partial 'exists=0'
  run "$S" delete "$U/$name"
  assert_success
  run "$S" get "$U/$name"
  assert_failure 66
}

@test "azure store backend: parallel Put Block + Put Block List, byte ranges, no-clobber" {
  head -c 1000003 /dev/urandom > big.bin
  md5b64=$(md5sum < big.bin | cut -c1-32 | xxd -r -p | base64) sha=$(sha256sum < big.bin | cut -c1-64)
  run "$S" -p 65536 mput "$U/big.bin" big.bin
  assert_success
  assert_line "exists=1 size=1000003 md5=$md5b64 sha256=$sha etag=yes mtime=yes"
  run "$S" head "$U/big.bin"
  assert_line "exists=1 size=1000003 md5=$md5b64 sha256=$sha etag=yes mtime=yes"
  "$S" get "$U/big.bin" > got 2>/dev/null
  cmp got big.bin
  "$S" get "$U/big.bin" 65530 20 > got 2>/dev/null
  cmp got <(tail -c +65531 big.bin | head -c 20)
  "$S" get "$U/big.bin" 999990 > got 2>/dev/null
  cmp got <(tail -c 13 big.bin)
  run "$S" -n -p 65536 mput "$U/big.bin" big.bin
  assert_failure 65
  assert_line 'retries=0 precond=1'
  run "$S" -n put "$U/big.bin" big.bin
  assert_failure 65
  assert_output --partial 'BlobAlreadyExists'
}

@test "azure store backend: listing pages (max_keys 2) and delimiter prefixes" {
  for i in 1 2 3 4 5; do "$S" putmem "$U/l/f$i" "$i" >/dev/null 2>&1; done
  "$S" putmem "$U/l/sub/x" x >/dev/null 2>&1
  run --separate-stderr "$S" -m 2 list "$U/l/"
  assert_success
  assert_equal "${#lines[@]}" 6
  assert_equal "$stderr" 'pages=3
retries=0 precond=0'
  run --separate-stderr "$S" -m 2 list "$U/l/" /
  assert_equal "${#lines[@]}" 6
  assert_line 'PRE l/sub/'
}

@test "azure store backend: 503 ServerBusy on blocks is retried by lib/http; wrong key is 77" {
  flaky_proxy 3 comp=block
  head -c 300000 /dev/urandom > big.bin
  run "$S" -p 65536 mput "$U/big" big.bin
  assert_success
  assert_line 'retries=3 precond=0'
  "$S" get "$U/big" > got 2>/dev/null
  cmp got big.bin
  stop_pid "$FLAKY_PID"
  export AZURE_STORAGE_CONNECTION_STRING="AccountName=devstoreaccount1;AccountKey=${AZ_DEV_KEY/Eby8/Xby8};BlobEndpoint=$AZURITE_ENDPOINT"
  run "$S" head "$U/big"
  assert_failure 77
  run "$S" put "$U/x" big.bin
  assert_failure 77
}

@test "azure: trainbox presign makes SAS GET and PUT URLs that work with plain curl, and expire" {
  "$S" putmem "$U/p/a b.txt" 'signed content' >/dev/null 2>&1
  url=$(trainbox presign --expires 600 "$U/p/a b.txt")
  [[ "$url" == "$AZURITE_ENDPOINT/$CONT/p/a%20b.txt?sv=2020-02-10&se="*"&sr=b&sp=r&sig="* ]]
  run curl -sf "$url"
  assert_success
  assert_output 'signed content'
  run curl -s -o /dev/null -w '%{http_code}' "${url/sp=r/sp=rw}"
  assert_output 403
  url=$(trainbox presign --method PUT --expires 600 "$U/p/up.txt")
  run curl -sf -X PUT -H 'x-ms-blob-type: BlockBlob' --data-binary 'via sas' "$url"
  assert_success
  run --separate-stderr "$S" get "$U/p/up.txt"
  assert_output 'via sas'
  # signed two hours ago for ten minutes: expired
  old=$(ASAN_OPTIONS=verify_asan_link_order=0 faketime -f '-2h' trainbox presign --expires 600 "$U/p/a b.txt")
  [ -n "$old" ] && [ "$old" != "$url" ]
  run curl -s -o /dev/null -w '%{http_code}' "$old"
  assert_output 403
  # signed two hours ago for three: still good, so the 403 above was the expiry
  run curl -sf "$(ASAN_OPTIONS=verify_asan_link_order=0 faketime -f '-2h' trainbox presign --expires 10800 "$U/p/a b.txt")"
  assert_output 'signed content'
  run trainbox presign --method DELETE "$U/p/a b.txt"
  assert_failure 64
  # the backend refuses other methods itself too
  run "$S" presign "$U/p/a b.txt" DELETE
  assert_failure 64
}

# ---- trainbox upload to az:// (cmd/upload.c over lib/store and this backend) ----

# shard_files: three small shards and one that goes up in blocks (threshold 2 MiB, blocks 1 MiB)
shard_files() {
  mkdir -p out
  for i in 0 1 2; do head -c $((100000 * (i + 1))) /dev/urandom > "out/train-00000$i.tar"; done
  head -c 3000007 /dev/urandom > out/train-000003.tar
}

@test "upload az://: records gain uri and etag; blobs are byte-identical with sha256 metadata; a rerun sends nothing" {
  shard_files
  run --separate-stderr bash -c "ls out/*.tar | trainbox upload --progress=none --part-size 1MiB --multipart-threshold 2MiB '$U/ds/'"
  assert_success
  assert_equal "${#lines[@]}" 5
  assert_line --index 4 "$(trailer 4)"
  records=$output
  for f in out/*.tar; do
    b=${f#out/}
    jq -s -e --arg u "$U/ds/$b" --arg s "$(sha256sum < "$f" | cut -c1-64)" 'map(select(.uri == $u)) | length == 1 and .[0].sha256 == $s and (.[0].etag | length) > 0' <<<"$records"
    "$S" get "$U/ds/$b" > got 2>/dev/null
    cmp got "$f"
    run --separate-stderr "$S" head "$U/ds/$b"
    assert_output --partial "sha256=$(sha256sum < "$f" | cut -c1-64)"
  done
  run --separate-stderr bash -c "ls out/*.tar | trainbox upload --progress=none --part-size 1MiB --multipart-threshold 2MiB '$U/ds/' | jq -r '.uri + \" \" + .etag' | sort"
  first=$output
  run --separate-stderr bash -c "ls out/*.tar | trainbox upload --progress=none --part-size 1MiB --multipart-threshold 2MiB '$U/ds/' | jq -r '.uri + \" \" + .etag' | sort"
  # Azure gives every write a new ETag: equal ETags mean nothing was rewritten
  assert_equal "$output" "$first"
}

@test "upload az:// then manifest on az:// and verify --deep: the whole pipeline on Azure" {
  shard_files
  ls out/*.tar | trainbox upload --progress=none --part-size 1MiB --multipart-threshold 2MiB "$U/ds/" > uploaded.jsonl
  run trainbox manifest --name ds -o "$U/ds/manifest.json" uploaded.jsonl
  assert_success
  run trainbox manifest verify --deep "$U/ds/manifest.json"
  assert_success
  run --separate-stderr trainbox discover --min-size 1 --min-count 4 "$U/ds/"
  jq -e '.count == 4' <<<"$output"
}

@test "upload az://: wrong key is 77; a missing container is 73 (cannot create); no-clobber keeps the existing blob" {
  shard_files
  export AZURE_STORAGE_CONNECTION_STRING="AccountName=devstoreaccount1;AccountKey=${AZ_DEV_KEY/Eby8/Xby8};BlobEndpoint=$AZURITE_ENDPOINT"
  run --separate-stderr trainbox upload --progress=none "$U/ds/" -- out/train-000000.tar
  assert_failure 77
  export AZURE_STORAGE_CONNECTION_STRING="$AZ_CONN"
  run --separate-stderr trainbox upload --progress=none "az://devstoreaccount1/nosuchcontainer/ds/" -- out/train-000000.tar
  assert_failure 73
  [[ "$stderr" == *ContainerNotFound* ]]
  "$S" putmem "$U/ds/train-000000.tar" 'someone else' >/dev/null 2>&1
  run --separate-stderr trainbox upload --progress=none --no-clobber "$U/ds/" -- out/train-000000.tar
  assert_failure 65
  run --separate-stderr "$S" get "$U/ds/train-000000.tar"
  assert_output 'someone else'
}

@test "azure: without a key, public containers are read anonymously; private ones refuse" {
  pub="az://devstoreaccount1/pub$BATS_TEST_NUMBER"
  run "$S" -P mkroot "$pub"
  assert_success
  "$S" putmem "$pub/open.txt" 'public bytes' >/dev/null 2>&1
  "$S" putmem "$U/closed.txt" 'private bytes' >/dev/null 2>&1
  unset AZURE_STORAGE_CONNECTION_STRING
  export AZURE_STORAGE_ACCOUNT=devstoreaccount1 AZURE_STORAGE_BLOB_ENDPOINT="$AZURITE_ENDPOINT"
  run --separate-stderr "$S" get "$pub/open.txt"
  assert_success
  assert_output 'public bytes'
  run --separate-stderr "$S" getmem "$pub/open.txt"
  assert_success
  assert_output 'public bytes'
  run "$S" head "$pub/open.txt"
  assert_line --partial 'exists=1 size=12'
  run "$S" get "$U/closed.txt"
  assert_failure
  refute_output --partial 'private bytes'
  run "$S" put "$pub/new.txt" /dev/null
  assert_failure
  run trainbox presign "$pub/open.txt"
  assert_failure 77
  assert_output --partial 'needs the account key'
}

@test "azure: a GET broken midway resumes from where it stopped (whole and ranged)" {
  head -c 300000 /dev/urandom > big.bin
  "$S" -p 65536 mput "$U/big" big.bin >/dev/null 2>&1
  export FLAKY_RANGE_FILE="$BATS_TEST_TMPDIR/ranges"
  flaky_proxy 1 /big cut
  "$S" -r 3 get "$U/big" > got 2>/dev/null
  cmp got big.bin
  assert_equal "$(cat "$FLAKY_RANGE_FILE")" "-
bytes=150000-"
  stop_pid "$FLAKY_PID"; rm -f "$FLAKY_RANGE_FILE"
  flaky_proxy 1 /big cut
  "$S" get "$U/big" 1000 200000 > got 2>/dev/null
  cmp got <(tail -c +1001 big.bin | head -c 200000)
  assert_equal "$(cat "$FLAKY_RANGE_FILE")" "bytes=1000-200999
bytes=101000-200999"
  stop_pid "$FLAKY_PID"; rm -f "$FLAKY_RANGE_FILE"
  flaky_proxy 1 /big cut
  "$S" getmem "$U/big" > got 2>/dev/null
  cmp got big.bin
}
