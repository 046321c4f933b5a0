#!/usr/bin/env bats
# trainbox job: the rendered Kubernetes and Kubeflow documents read back with PyYAML and json and
# checked field by field; their pod scripts, the restore init container and the Slurm array script
# run here by hand with the variables the scheduler would set, each rank finding its own share; the
# merge steps merging the rank manifests; bad command lines exit 64.
load helper

setup() {
  python3 -c 'import yaml' 2>/dev/null || fail "python3 cannot import yaml (PyYAML): these tests read the manifests back with it; install python3-yaml"
  cd "$BATS_TEST_TMPDIR"
  W=$BATS_TEST_TMPDIR
}

# py FILE SCRIPT: run a Python check over a rendered manifest (docs: every document of FILE, YAML or JSON)
py() {
  local f=$1; shift
  python3 - "$f" "$@" <<PY
import json, re, sys, yaml
text = open(sys.argv[1]).read()
try:
    docs = [json.loads(text)]
    if docs[0].get("kind") == "List": docs = docs[0]["items"]
except ValueError:
    docs = [d for d in yaml.safe_load_all(text)]
def env(c): return {e["name"]: e["value"] for e in c.get("env", [])}
$PYCHECK
PY
}

@test "indexed: the Indexed Job's fields, as PyYAML reads them" {
  trainbox job indexed --name prep --image reg.example/tb:1.0 --ranks 16 --parallelism 4 --backoff-limit 2 \
    --run 'trainbox split in.jsonl | wc -l' --namespace data --env S3_BUCKET=b > job.yaml
  PYCHECK='
assert len(docs) == 1, docs
d = docs[0]
assert d["apiVersion"] == "batch/v1" and d["kind"] == "Job", d
assert d["metadata"]["name"] == "prep" and d["metadata"]["namespace"] == "data"
s = d["spec"]
assert s["completionMode"] == "Indexed"
assert s["completions"] == 16 and s["parallelism"] == 4, s
assert s["backoffLimitPerIndex"] == 2 and s["backoffLimit"] == 32, s
rules = s["podFailurePolicy"]["rules"]
assert rules[0] == {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}, rules
assert rules[1]["action"] == "FailIndex" and rules[1]["onExitCodes"] == {"containerName": "trainbox", "operator": "In", "values": [64, 65]}
p = s["template"]["spec"]
assert p["restartPolicy"] == "Never"
assert len(p["containers"]) == 1
c = p["containers"][0]
assert c["name"] == "trainbox" and c["image"] == "reg.example/tb:1.0"
assert c["command"][:2] == ["sh", "-c"] and len(c["command"]) == 3
script = c["command"][2]
assert "export RANK=\"$JOB_COMPLETION_INDEX\" WORLD_SIZE=\"$TRAINBOX_WORLD_SIZE\"\n" in script, script
assert script.endswith("trainbox split in.jsonl | wc -l\n"), script
assert "rank-" not in script   # no --manifests: no manifest step
assert env(c) == {"TRAINBOX_WORLD_SIZE": "16", "S3_BUCKET": "b"}, env(c)
'
  run py job.yaml
  assert_success
  # the parallelism defaults to the ranks
  trainbox job indexed --name prep --image i --ranks 3 --run x > j2.yaml
  PYCHECK='s = docs[0]["spec"]; assert s["parallelism"] == 3 and s["backoffLimitPerIndex"] == 3 and s["backoffLimit"] == 9, s'
  run py j2.yaml
  assert_success
}

@test "indexed: every scalar reads back as the string it was; YAML and JSON give the same objects" {
  trainbox job indexed --name prep --image i --ranks 4 --run $'echo "a: b" # not a comment\n\ntrainbox split x  ' \
    --env A=yes --env B=0x10 --env C=null --env 'D=a: b' --env 'E=# x' --env 'F= lead' --env G=1e3 --env H=on \
    --env 'I=é 日本' --env J= --env 'K=~' --env 'L=two
lines' --manifests s3://b/ds/manifests/ --merge > j.yaml
  trainbox job indexed --name prep --image i --ranks 4 --run $'echo "a: b" # not a comment\n\ntrainbox split x  ' \
    --env A=yes --env B=0x10 --env C=null --env 'D=a: b' --env 'E=# x' --env 'F= lead' --env G=1e3 --env H=on \
    --env 'I=é 日本' --env J= --env 'K=~' --env 'L=two
lines' --manifests s3://b/ds/manifests/ --merge --format json > j.json
  grep -q 'value: "4"' j.yaml          # the world size is a quoted string, as env values must be
  grep -q -- '- |' j.yaml              # the multi-line script is a literal block
  PYCHECK='
want = {"TRAINBOX_WORLD_SIZE": "4", "TRAINBOX_MANIFESTS": "s3://b/ds/manifests", "A": "yes", "B": "0x10", "C": "null",
        "D": "a: b", "E": "# x", "F": " lead", "G": "1e3", "H": "on", "I": "é 日本", "J": "", "K": "~", "L": "two\nlines"}
for d in docs:
    for c in d["spec"]["template"]["spec"]["containers"]:
        e = env(c)
        for k, v in want.items():
            if k in e: assert e[k] == v and type(e[k]) is str, (k, e[k])
assert env(docs[0]["spec"]["template"]["spec"]["containers"][0]).keys() == want.keys()
s = docs[0]["spec"]["template"]["spec"]["containers"][0]["command"][2]
assert "{\necho \"a: b\" # not a comment\n\ntrainbox split x  \n} | trainbox manifest -o" in s, repr(s)
'
  run py j.yaml
  assert_success
  run py j.json
  assert_success
  python3 -c '
import json, sys, yaml
y = list(yaml.safe_load_all(open("j.yaml")))
j = json.load(open("j.json"))
assert j["apiVersion"] == "v1" and j["kind"] == "List", j.get("kind")
assert j["items"] == y, "YAML and JSON differ"
'
}

@test "indexed --merge: the merge Job's shape and where the merged manifest goes" {
  trainbox job indexed --name prep --image i --ranks 8 --run x --manifests s3://b/ds/manifests --merge > j.yaml
  PYCHECK='
assert len(docs) == 2
m = docs[1]
assert m["apiVersion"] == "batch/v1" and m["kind"] == "Job" and m["metadata"]["name"] == "prep-merge"
assert "completionMode" not in m["spec"] and m["spec"]["completions"] == 1
p = m["spec"]["template"]["spec"]
assert p["restartPolicy"] == "Never"
c = p["containers"][0]
assert c["name"] == "merge" and c["image"] == "i"
assert env(c) == {"TRAINBOX_WORLD_SIZE": "8", "TRAINBOX_MANIFESTS": "s3://b/ds/manifests", "TRAINBOX_MERGED": "s3://b/ds/manifest.json"}, env(c)
assert "trainbox manifest merge -o \"$TRAINBOX_MERGED\"" in c["command"][2]
'
  run py j.yaml
  assert_success
  trainbox job indexed --name prep --image i --ranks 2 --run x --manifests s3://b/m --merge --merged s3://c/final.json > j2.yaml
  PYCHECK='assert env(docs[1]["spec"]["template"]["spec"]["containers"][0])["TRAINBOX_MERGED"] == "s3://c/final.json"'
  run py j2.yaml
  assert_success
  trainbox job indexed --name prep --image i --ranks 2 --run x --manifests s3://b/m --merge > j3.yaml
  PYCHECK='assert env(docs[1]["spec"]["template"]["spec"]["containers"][0])["TRAINBOX_MERGED"] == "s3://b/manifest.json"'
  run py j3.yaml
  assert_success
  # a manifests directory at a bucket's top has no parent in the bucket
  run --separate-stderr trainbox job indexed --name prep --image i --ranks 2 --run x --manifests s3://b --merge
  assert_failure 64
  [[ "$stderr" == *"give --merged URI"* ]]
}

# pod_script FILE DOC: the sh -c script of document DOC's first container, into stdout
pod_script() {
  python3 -c 'import sys, yaml; d = list(yaml.safe_load_all(open(sys.argv[1])))[int(sys.argv[2])]; sys.stdout.write(d["spec"]["template"]["spec"]["containers"][0]["command"][2])' "$1" "$2"
}

@test "indexed: the pod script, run for each completion index, gives each rank its share; the merge Job waits, then merges" {
  gen_samples 50 7 > in.jsonl
  trainbox job indexed --name prep --image i --ranks 4 --manifests "$W/manifests" --merge \
    --run "trainbox split $W/in.jsonl | trainbox shard -o \"$W/shards/r\$RANK\" --prefix \"r\$RANK\" --max-samples 5" > j.yaml
  pod_script j.yaml 0 > rank.sh
  pod_script j.yaml 1 > merge.sh
  mkdir manifests
  for i in 0 1 2 3; do
    # the variables Kubernetes sets (JOB_COMPLETION_INDEX) and the Job's env (TRAINBOX_WORLD_SIZE, TRAINBOX_MANIFESTS)
    env -u RANK -u WORLD_SIZE JOB_COMPLETION_INDEX=$i TRAINBOX_WORLD_SIZE=4 TRAINBOX_MANIFESTS="$W/manifests" sh rank.sh ||
      fail "rank $i failed"
  done
  for i in 0 1 2 3; do
    assert_file_exists "manifests/rank-0000$i.json"
    # rank i got lines i, i+4, ... of the input (split's default --by index)
    diff <(cd manifests && trainbox cat $(jq -r '.shards[].path' "rank-0000$i.json") | jq -r .__key__) <(awk -v r=$i '(NR - 1) % 4 == r' in.jsonl | jq -r .__key__) ||
      fail "rank $i has the wrong lines"
  done
  # the merge waits while a rank manifest is missing (66: it polls), and merges once all exist
  mv manifests/rank-00002.json held.json
  run env TRAINBOX_WORLD_SIZE=4 TRAINBOX_MANIFESTS="$W/manifests" TRAINBOX_MERGED="$W/manifest.json" TRAINBOX_POLL_SECONDS=0.1 \
    timeout 2 sh merge.sh
  assert_failure 124
  assert_file_not_exists manifest.json
  mv held.json manifests/rank-00002.json
  run env TRAINBOX_WORLD_SIZE=4 TRAINBOX_MANIFESTS="$W/manifests" TRAINBOX_MERGED="$W/manifest.json" sh merge.sh
  assert_success
  assert_equal "$(jq .totals.samples manifest.json)" 50
  diff <(trainbox cat manifest.json | jq -r .__key__ | sort) <(jq -r .__key__ in.jsonl | sort)
  # a manifest that is there but broken fails the merge pod instead of waiting forever
  echo '{not json' > manifests/rank-00001.json
  run env TRAINBOX_WORLD_SIZE=4 TRAINBOX_MANIFESTS="$W/manifests" TRAINBOX_MERGED="$W/m2.json" sh merge.sh
  assert_failure 65
  assert_output --partial "rank-00001.json: trainbox manifest show exited 65"
}

@test "pytorchjob: one Master, N-1 Workers, the pytorch container under torchrun, the run layout's env" {
  trainbox job pytorchjob --name llm --image reg.example/train:2 --nodes 3 --gpus-per-node 8 --runs-uri s3://bkt/runs/ \
    --framework deepspeed --run-id llm-7 --env LR=3e-4 --secret s3-creds -- train.py --config c.yaml --flag yes > pj.yaml
  PYCHECK='
assert len(docs) == 1
d = docs[0]
assert d["apiVersion"] == "kubeflow.org/v1" and d["kind"] == "PyTorchJob" and d["metadata"]["name"] == "llm"
s = d["spec"]
assert s["nprocPerNode"] == "8", s["nprocPerNode"]
rs = s["pytorchReplicaSpecs"]
assert sorted(rs) == ["Master", "Worker"], list(rs)
assert rs["Master"]["replicas"] == 1 and rs["Worker"]["replicas"] == 2
base = "s3://bkt/runs/llm-7/framework=deepspeed/"
for kind in ("Master", "Worker"):
    r = rs[kind]
    assert r["restartPolicy"] == "OnFailure"
    p = r["template"]["spec"]
    assert "initContainers" not in p
    assert len(p["containers"]) == 1
    c = p["containers"][0]
    assert c["name"] == "pytorch" and c["image"] == "reg.example/train:2"
    assert c["command"] == ["torchrun"], c["command"]
    assert c["args"] == ["--nnodes=3", "--nproc-per-node=8", "train.py", "--config", "c.yaml", "--flag", "yes"], c["args"]
    assert c["resources"]["limits"] == {"nvidia.com/gpu": 8}, c["resources"]
    assert {"name": "pytorchjob-port", "containerPort": 23456} in c["ports"]
    assert c["envFrom"] == [{"secretRef": {"name": "s3-creds"}}]
    assert env(c) == {"RUN_ID": "llm-7", "NUM_NODES": "3", "GPUS_PER_NODE": "8", "CHECKPOINT_DIR": "/checkpoints",
        "FRAMEWORK": "deepspeed", "RUN_URI": base, "CHECKPOINT_BASE_URI": base + "checkpoints/",
        "LOG_BASE_URI": base + "logs/", "CONFIG_URI": base + "config/", "LR": "3e-4"}, env(c)
    assert {"name": "checkpoints", "mountPath": "/checkpoints"} in c["volumeMounts"]
    assert {"name": "checkpoints", "emptyDir": {}} in p["volumes"]
'
  run py pj.yaml
  assert_success
  # one node: a Master and no Worker; --run is a shell line under torchrun --no-python; a default
  # run id from the name and the UTC time; json
  trainbox job pytorchjob --name solo --image i --nodes 1 --gpus-per-node 1 --run 'python t.py "$RUN_ID"' --format json > one.json
  PYCHECK='
rs = docs[0]["spec"]["pytorchReplicaSpecs"]
assert list(rs) == ["Master"], list(rs)
c = rs["Master"]["template"]["spec"]["containers"][0]
assert c["args"] == ["--nnodes=1", "--nproc-per-node=1", "--no-python", "sh", "-c", "python t.py \"$RUN_ID\""], c["args"]
e = env(c)
assert re.fullmatch(r"solo-\d{8}T\d{6}Z", e["RUN_ID"]), e["RUN_ID"]
assert "CHECKPOINT_BASE_URI" not in e
'
  run py one.json
  assert_success
}

# restore_script FILE: the init container's script
restore_script() {
  python3 -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); sys.stdout.write(d["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["initContainers"][0]["command"][2])' "$1"
}

@test "pytorchjob --resume: every pod's init container restores the latest complete checkpoint (discover, then sync)" {
  trainbox job pytorchjob --name llm --image i --nodes 2 --gpus-per-node 4 --runs-uri "$W/runs" --run-id r1 --resume -- train.py > pj.yaml
  PYCHECK='
for kind in ("Master", "Worker"):
    p = docs[0]["spec"]["pytorchReplicaSpecs"][kind]["template"]["spec"]
    ic = p["initContainers"]
    assert len(ic) == 1 and ic[0]["name"] == "restore" and ic[0]["image"] == "i"
    assert ic[0]["command"][:2] == ["sh", "-c"]
    s = ic[0]["command"][2]
    assert "trainbox discover --latest-checkpoint \"$CHECKPOINT_BASE_URI\"" in s and "trainbox sync" in s, s
    assert env(ic[0]) == env(p["containers"][0])
    assert {"name": "checkpoints", "mountPath": "/checkpoints"} in ic[0]["volumeMounts"]
'
  run py pj.yaml
  assert_success
  restore_script pj.yaml > restore.sh
  ck=$W/runs/r1/framework=pytorch/checkpoints
  # step-100 is still being written (no marker), step-99 is complete
  mkdir -p "$ck/step-99/sub" "$ck/step-100" "$ck/step-7"
  echo w99 > "$ck/step-99/model.pt"; echo o > "$ck/step-99/sub/optim.pt"; touch "$ck/step-99/.complete"
  echo w100 > "$ck/step-100/model.pt"
  echo w7 > "$ck/step-7/model.pt"; touch "$ck/step-7/.complete"
  mkdir local
  run env CHECKPOINT_BASE_URI="$ck/" CHECKPOINT_DIR="$W/local" sh restore.sh
  assert_success
  assert_equal "$(cat local/step-99/model.pt)" w99
  assert_equal "$(cat local/step-99/sub/optim.pt)" o
  assert_equal "$(ls local)" step-99
  # no checkpoint yet: a fresh start, exit 0, nothing restored
  mkdir empty local2
  run --separate-stderr env CHECKPOINT_BASE_URI="$W/empty/" CHECKPOINT_DIR="$W/local2" sh restore.sh
  assert_success
  [[ "$stderr" == *"a fresh start"* ]]
  assert_equal "$(ls -A local2)" ""
}

@test "slurm: the array script, run with SLURM_ARRAY_* set by hand for each task, gives each rank its lines" {
  seq 1 23 > in.txt
  trainbox job slurm --ranks 4 --max-parallel 2 --job-name prep --time 1:00:00 --partition gpu --env TAG=x1 \
    --run "trainbox split --world-size \"\$WORLD_SIZE\" $W/in.txt > $W/out/part-\$RANK.txt; echo \"\$TAG\" > $W/out/tag-\$RANK" > job.sh
  run grep '^#SBATCH' job.sh
  assert_output $'#SBATCH --job-name=prep\n#SBATCH --array=0-3%2\n#SBATCH --time=1:00:00\n#SBATCH --partition=gpu'
  head -1 job.sh | grep -qx '#!/bin/bash'
  grep -q 'set -euo pipefail' job.sh
  mkdir out
  for id in 0 1 2 3; do
    env -u RANK -u WORLD_SIZE SLURM_ARRAY_JOB_ID=100 SLURM_ARRAY_TASK_ID=$id SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_MAX=3 \
      SLURM_ARRAY_TASK_STEP=1 SLURM_ARRAY_TASK_COUNT=4 bash job.sh || fail "task $id failed"
  done
  for r in 0 1 2 3; do
    diff out/part-$r.txt <(awk -v r=$r '(NR - 1) % 4 == r' in.txt) || fail "rank $r has the wrong lines"
    assert_equal "$(cat out/tag-$r)" x1
  done
  # a resubmission of one failed rank (sbatch --array=2 job.sh: MIN is 2) is still rank 2
  rm out/part-2.txt
  env -u RANK SLURM_ARRAY_JOB_ID=101 SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_MIN=2 SLURM_ARRAY_TASK_MAX=2 \
    SLURM_ARRAY_TASK_STEP=1 SLURM_ARRAY_TASK_COUNT=1 bash job.sh
  diff out/part-2.txt <(awk 'NR % 4 == 3' in.txt)
  # a task id beyond the ranks is refused
  run --separate-stderr env SLURM_ARRAY_TASK_ID=4 SLURM_ARRAY_TASK_MIN=0 bash job.sh
  assert_failure 64
  [[ "$stderr" == *"not below the world size 4"* ]]
  # without --max-parallel no %P
  trainbox job slurm --ranks 16 --run x | grep -qx '#SBATCH --array=0-15'
}

@test "slurm --merge: the first task submits the dependent merge job; it merges the rank manifests" {
  gen_samples 30 3 > in.jsonl
  trainbox job slurm --ranks 3 --manifests "$W/manifests/" --merge --job-name prep --time 10 \
    --run "trainbox split $W/in.jsonl | trainbox shard -o \"$W/shards/r\$RANK\" --prefix \"r\$RANK\" --max-samples 4" > job.sh
  # a stand-in sbatch: records its arguments and the script it was given on stdin
  mkdir bin manifests
  cat > bin/sbatch <<EOF
#!/bin/bash
n=\$(ls $W/sbatch.* 2>/dev/null | wc -l)
printf '%s\n' "\$@" > $W/sbatch.\$n.args
cat > $W/sbatch.\$n.script
echo 555
EOF
  chmod +x bin/sbatch
  for id in 0 1 2; do
    PATH="$W/bin:$PATH" SLURM_ARRAY_JOB_ID=200 SLURM_ARRAY_TASK_ID=$id SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_MAX=2 \
      SLURM_ARRAY_TASK_STEP=1 SLURM_ARRAY_TASK_COUNT=3 bash job.sh > /dev/null || fail "task $id failed"
  done
  # submitted once, by the first task, depending on the whole array
  assert_equal "$(ls sbatch.*.args)" sbatch.0.args
  grep -qx -- '--dependency=afterok:200' sbatch.0.args
  grep -qx -- '--kill-on-invalid-dep=yes' sbatch.0.args
  grep -qx -- '--job-name=prep-merge' sbatch.0.args
  grep -qx -- '--time=10' sbatch.0.args
  for r in 0 1 2; do assert_file_exists "manifests/rank-0000$r.json"; done
  # the merge job, run as Slurm would once the array succeeded
  run bash sbatch.0.script
  assert_success
  assert_equal "$(jq .totals.samples manifest.json)" 30
  diff <(trainbox cat manifest.json | jq -r .__key__ | sort) <(jq -r .__key__ in.jsonl | sort)
  # a restarted (requeued) first task does not submit a second merge
  PATH="$W/bin:$PATH" SLURM_RESTART_COUNT=1 SLURM_ARRAY_JOB_ID=200 SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_TASK_MIN=0 bash job.sh > /dev/null
  assert_equal "$(ls sbatch.*.args)" sbatch.0.args
}

@test "bad command lines exit 64 with one line and the hint" {
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    run --separate-stderr bash -c "trainbox job $line"
    [ "$status" -eq 64 ] || fail "job $line: exit $status, not 64 ($stderr)"
    [[ "$stderr" == "trainbox job: "* && "$stderr" == *"try 'trainbox job --help'"* ]] || fail "job $line: $stderr"
    [ -z "$output" ] || fail "job $line printed on stdout: $output"
  done <<'EOF'
--ranks 2
frob
indexed --image i --ranks 2 --run x
indexed --name p --ranks 2 --run x
indexed --name p --image i --run x
indexed --name p --image i --ranks 2
indexed --name p --image i --ranks 0 --run x
indexed --name p --image i --ranks x --run x
indexed --name p --image i --ranks 2 --parallelism 3 --run x
indexed --name Prep --image i --ranks 2 --run x
indexed --name p_1 --image i --ranks 2 --run x
indexed --name aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa --image i --ranks 2 --run x --manifests m --merge
indexed --name p --image i --ranks 2 --run x --merge
indexed --name p --image i --ranks 2 --run x --merged m.json
indexed --name p --image i --ranks 2 --run x --format xml
indexed --name p --image i --ranks 2 --run x --env NOEQUALS
indexed --name p --image i --ranks 2 --run x --env 1A=b
indexed --name p --image i --ranks 2 --run x --env RANK=3
indexed --name p --image i --ranks 2 --run x --nodes 2
indexed --name p --image i --ranks 2 --run x --backoff-limit 101
indexed --name p --image i --ranks 2 --run x extra
pytorchjob --name p --image i --nodes 2 --gpus-per-node 1
pytorchjob --name p --image i --nodes 2 --gpus-per-node 1 --run x -- t.py
pytorchjob --name p --image i --gpus-per-node 1 -- t.py
pytorchjob --name p --image i --nodes 2 -- t.py
pytorchjob --name p --image i --nodes 2 --gpus-per-node 1 --resume -- t.py
pytorchjob --name p --image i --nodes 2 --gpus-per-node 1 --framework f -- t.py
pytorchjob --name p --image i --nodes 2 --gpus-per-node 1 --runs-uri s3://b/r --run-id a/b -- t.py
pytorchjob --name p --image i --nodes 2 --gpus-per-node 1 --ranks 2 -- t.py
slurm --run x
slurm --ranks 2
slurm --ranks 2 --run x --max-parallel 3
slurm --ranks 2 --run x --time '1 day'
slurm --ranks 2 --run x --image i
slurm --ranks 2 --run x --format json
slurm --ranks 2 --run x $'\xff'
EOF
}
