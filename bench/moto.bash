# bench/moto.bash: sourced by the S3 benchmarks (make bench runs only bench/*.sh). Starts one moto
# server on a free loopback port in a fresh work dir, points awscli/boto3/trainbox at it (E,
# AWS_ENDPOINT_URL) and writes an rclone config for it ($work/rclone.conf, remote "m"); all is removed on exit.
REPO=$PWD
BIN=${TB_BIN:-$REPO/trainbox}
work=$(mktemp -d)
moto_pid=
cleanup() { [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
unset AWS_CA_BUNDLE AWS_PROFILE TRAINBOX_S3_ENDPOINT
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
E="http://127.0.0.1:$port"
export AWS_ENDPOINT_URL=$E
python3 -m moto.server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
cat >"$work/rclone.conf" <<EOC
[m]
type = s3
provider = Other
endpoint = $E
access_key_id = bench
secret_access_key = bench
force_path_style = true
region = us-east-1
EOC
