/* job: scheduler manifests for many machines, printed to stdout: a Kubernetes Indexed Job whose pods
 * run a per-rank pipeline (and a follow-up Job merging the rank manifests), a Kubeflow PyTorchJob
 * with the run layout and an optional checkpoint restore, and a Slurm array script. trainbox does not
 * schedule; it renders. The Kubernetes documents are built once as a cJSON tree and written as JSON
 * (cJSON) or YAML (lib/yamlout, libyaml), so no value is pasted into text unquoted. */
#include "alloc.h"
#include "shquote.h"
#include "commands.h"
#include "err.h"
#include "json.h"
#include "opts.h"
#include "yamlout.h"
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    OPT_FORMAT = 1, OPT_NAME, OPT_IMAGE, OPT_NAMESPACE, OPT_ENV, OPT_SECRET, OPT_RANKS, OPT_PARALLELISM, OPT_RUN,
    OPT_MANIFESTS, OPT_MERGE, OPT_MERGED, OPT_BACKOFF, OPT_SHELL, OPT_NODES, OPT_GPUS, OPT_RUNS_URI, OPT_FRAMEWORK,
    OPT_RESUME, OPT_RUN_ID, OPT_MAX_PARALLEL, OPT_JOB_NAME, OPT_TIME, OPT_PARTITION,
};

static const struct tb_opt job_opts[] = {
    {OPT_FORMAT, 0, "format", "FORMAT", "indexed, pytorchjob: yaml (default) or json", "yaml json"},
    {OPT_NAME, 0, "name", "NAME", "indexed, pytorchjob: the Job's (the run's) name, a DNS label", NULL},
    {OPT_IMAGE, 0, "image", "IMAGE", "indexed, pytorchjob: the container image (trainbox on its PATH)", NULL},
    {OPT_NAMESPACE, 0, "namespace", "NS", "indexed, pytorchjob: metadata.namespace", NULL},
    {OPT_ENV, 0, "env", "K=V", "an environment variable for every rank (repeatable)", NULL},
    {OPT_SECRET, 0, "secret", "NAME", "indexed, pytorchjob: env from this Secret (credentials) (repeatable)", NULL},
    {OPT_RANKS, 0, "ranks", "R", "indexed, slurm: number of ranks (completions, array tasks)", NULL},
    {OPT_PARALLELISM, 0, "parallelism", "P", "indexed: pods running at once (default R)", NULL},
    {OPT_RUN, 0, "run", "CMD", "the per-rank pipeline (sh); pytorchjob: a command line each worker runs", "cmd"},
    {OPT_MANIFESTS, 0, "manifests", "URI", "indexed, slurm: pipe the pipeline into manifest -o URI/rank-NNNNN.json", NULL},
    {OPT_MERGE, 0, "merge", NULL, "indexed, slurm: merge the rank manifests once all exist", NULL},
    {OPT_MERGED, 0, "merged", "URI", "the merged manifest (default: manifest.json beside --manifests)", NULL},
    {OPT_BACKOFF, 0, "backoff-limit", "K", "indexed: retries per index (default 3)", NULL},
    {OPT_SHELL, 0, "shell", "SHELL", "indexed: the shell running --run (default sh)", NULL},
    {OPT_NODES, 0, "nodes", "N", "pytorchjob: nodes: one Master and N-1 Workers", NULL},
    {OPT_GPUS, 0, "gpus-per-node", "G", "pytorchjob: GPUs (and torchrun processes) per node", NULL},
    {OPT_RUNS_URI, 0, "runs-uri", "URI", "pytorchjob: runs live under URI/RUN_ID/framework=F/", NULL},
    {OPT_FRAMEWORK, 0, "framework", "F", "pytorchjob: the run layout's framework (default pytorch)", NULL},
    {OPT_RESUME, 0, "resume", NULL, "pytorchjob: restore the latest complete checkpoint first", NULL},
    {OPT_RUN_ID, 0, "run-id", "ID", "pytorchjob: the run's id (default NAME-YYYYMMDDTHHMMSSZ, UTC)", NULL},
    {OPT_MAX_PARALLEL, 0, "max-parallel", "P", "slurm: array tasks running at once (%P)", NULL},
    {OPT_JOB_NAME, 0, "job-name", "NAME", "slurm: #SBATCH --job-name (default trainbox)", NULL},
    {OPT_TIME, 0, "time", "T", "slurm: #SBATCH --time", NULL},
    {OPT_PARTITION, 0, "partition", "P", "slurm: #SBATCH --partition", NULL},
    TB_COMMON_OPTS,
    TB_OPT_END,
};

static int cmd_job(int argc, char **argv);

const struct tb_cmd_spec tb_cmd_job = {
    "job",
    "print scheduler manifests: Kubernetes Indexed Job, Kubeflow PyTorchJob, Slurm array",
    "indexed --name N --image IMG --ranks R --run PIPELINE [--parallelism P] [--manifests URI [--merge [--merged URI]]] [OPTIONS]\n"
    "pytorchjob --name RUN --image IMG --nodes N --gpus-per-node G [--runs-uri URI [--framework F] [--resume]] [OPTIONS] (--run CMD | -- SCRIPT [ARGS...])\n"
    "slurm --ranks R --run PIPELINE [--max-parallel P] [--manifests URI [--merge [--merged URI]]] [OPTIONS]",
    "Prints a manifest for a scheduler on stdout: each rank runs the pipeline with RANK and WORLD_SIZE\n"
    "exported from the scheduler's own variables (JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID), so every\n"
    "trainbox command in it finds its share. Nothing is submitted: pipe it to kubectl apply -f - or sbatch.",
    job_opts,
    cmd_job,
};

enum kind { INDEXED, PYTORCHJOB, SLURM };

struct job {
    enum kind kind;
    int json, merge, resume;
    const char *name, *image, *ns, *run, *manifests, *merged, *shell, *runs_uri, *framework, *run_id;
    const char *job_name, *time, *partition;
    unsigned long long ranks, parallelism, backoff, nodes, gpus, max_parallel;
    int have_parallelism, have_backoff, have_max_parallel;
    const char **env;       /* "K=V" as given */
    size_t nenv;
    const char **secrets;
    size_t nsecrets;
    char **script;          /* pytorchjob: words after the options */
    int nscript;
    char *merged_owned, *run_id_owned, *runs_base, *manifests_owned;
    struct tb_common_cfg co;
};

/* ---- small helpers ---- */

/* A growing string. */
struct sb { char *p; size_t len, cap; };

static void sb_add(struct sb *b, const char *s)
{
    size_t n = strlen(s);
    tb_xgrow(&b->p, &b->cap, b->len + n + 1);
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

static void sb_addf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_addf(struct sb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) tb_oom(strlen(fmt));
    sb_add(b, s);
    free(s);
}

/* export K='V' */
static void sb_export(struct sb *b, const char *k, const char *v)
{
    char *q = tb_shquote(v);
    sb_addf(b, "export %s=%s\n", k, q);
    free(q);
}

/* A DNS-1123 label of at most max bytes: Job, pod and Service names are built from it. */
static int dns_label_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || s[0] == '-' || s[n - 1] == '-') return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')) return 0;
    return 1;
}

/* An environment variable name the shell can export too. */
static int env_name_ok(const char *s, size_t n)
{
    if (n == 0 || (s[0] >= '0' && s[0] <= '9')) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

static void env_add(cJSON *env, const char *k, const char *v)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", k);
    cJSON_AddStringToObject(o, "value", v);
    cJSON_AddItemToArray(env, o);
}

static void env_addu(cJSON *env, const char *k, unsigned long long v)
{
    char t[32];
    snprintf(t, sizeof t, "%llu", v);
    env_add(env, k, t);
}

/* The user's --env K=V, after the ones trainbox sets (parse_args refused clashes). */
static void env_user(const struct job *j, cJSON *env)
{
    for (size_t i = 0; i < j->nenv; i++) {
        const char *eq = strchr(j->env[i], '=');
        char *k = tb_xstrndup(j->env[i], (size_t)(eq - j->env[i]));
        env_add(env, k, eq + 1);
        free(k);
    }
}

static void env_from(const struct job *j, cJSON *container)
{
    if (!j->nsecrets) return;
    cJSON *ef = cJSON_AddArrayToObject(container, "envFrom");
    for (size_t i = 0; i < j->nsecrets; i++) {
        cJSON *o = cJSON_CreateObject(), *ref = cJSON_AddObjectToObject(o, "secretRef");
        cJSON_AddStringToObject(ref, "name", j->secrets[i]);
        cJSON_AddItemToArray(ef, o);
    }
}

static cJSON *metadata(const struct job *j, cJSON *doc, const char *name)
{
    cJSON *md = cJSON_AddObjectToObject(doc, "metadata");
    cJSON_AddStringToObject(md, "name", name);
    if (j->ns) cJSON_AddStringToObject(md, "namespace", j->ns);
    cJSON *labels = cJSON_AddObjectToObject(md, "labels");
    cJSON_AddStringToObject(labels, "app.kubernetes.io/managed-by", "trainbox");
    return md;
}

static cJSON *strings(const char *const *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
    return a;
}

/* ---- the per-rank pipeline and the merge, as shell text ---- */

/* The line that appends the rank's manifest step to the pipeline (--manifests). */
#define RANK_MANIFEST "trainbox manifest -o \"$TRAINBOX_MANIFESTS/rank-$(printf %05d \"$RANK\").json\""

/* The pipeline itself, with the manifest step when --manifests is given. The braces keep a user's
 * several commands one stage; the newline before '}' keeps a trailing comment from eating it. */
static void pipeline(const struct job *j, struct sb *b)
{
    if (j->manifests) sb_addf(b, "{\n%s\n} | %s\n", j->run, RANK_MANIFEST);
    else sb_addf(b, "%s\n", j->run);
}

/* The Indexed Job's pod script (sh -c). */
static char *indexed_script(const struct job *j)
{
    struct sb b = {0};
    sb_add(&b, "set -eu\n"
               "# pipefail where the shell has it (dash has not: give --shell bash for such images)\n"
               "if (set -o pipefail) 2>/dev/null; then set -o pipefail; fi\n"
               "# the rank from Kubernetes' completion index, the world size from the Job\n"
               "export RANK=\"$JOB_COMPLETION_INDEX\" WORLD_SIZE=\"$TRAINBOX_WORLD_SIZE\"\n");
    pipeline(j, &b);
    return b.p;
}

/* The merge Job's script: wait until every rank manifest exists (a manifest is written once, last,
 * so existing means complete), then merge them. Missing (66), unavailable (69) and try-again (75)
 * wait; any other failure fails the pod. */
static char *k8s_merge_script(void)
{
    struct sb b = {0};
    sb_add(&b, "set -eu\n"
               "set --\n"
               "i=0\n"
               "while [ \"$i\" -lt \"$TRAINBOX_WORLD_SIZE\" ]; do\n"
               "  m=\"$TRAINBOX_MANIFESTS/rank-$(printf %05d \"$i\").json\"\n"
               "  if trainbox manifest show \"$m\" >/dev/null 2>&1; then\n"
               "    set -- \"$@\" \"$m\"\n"
               "    i=$((i + 1))\n"
               "  else\n"
               "    rc=$?\n"
               "    case $rc in\n"
               "      66|69|75) sleep \"${TRAINBOX_POLL_SECONDS:-10}\" ;;\n"
               "      *) echo \"merge: $m: trainbox manifest show exited $rc\" >&2; exit \"$rc\" ;;\n"
               "    esac\n"
               "  fi\n"
               "done\n"
               "exec trainbox manifest merge -o \"$TRAINBOX_MERGED\" \"$@\"\n");
    return b.p;
}

/* ---- Kubernetes: the Indexed Job ---- */

/* A Job's pod template (labelled as trainbox's, restartPolicy Never) with its one container, which
 * is returned for the caller to fill. */
static cJSON *job_container(cJSON *spec, const char *name, const char *image)
{
    cJSON *tmpl = cJSON_AddObjectToObject(spec, "template");
    cJSON *tmd = cJSON_AddObjectToObject(tmpl, "metadata"), *tl = cJSON_AddObjectToObject(tmd, "labels");
    cJSON_AddStringToObject(tl, "app.kubernetes.io/managed-by", "trainbox");
    cJSON *pspec = cJSON_AddObjectToObject(tmpl, "spec");
    cJSON_AddStringToObject(pspec, "restartPolicy", "Never");
    cJSON *ctrs = cJSON_AddArrayToObject(pspec, "containers"), *c = cJSON_CreateObject();
    cJSON_AddItemToArray(ctrs, c);
    cJSON_AddStringToObject(c, "name", name);
    cJSON_AddStringToObject(c, "image", image);
    return c;
}

static cJSON *indexed_job(const struct job *j)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "apiVersion", "batch/v1");
    cJSON_AddStringToObject(doc, "kind", "Job");
    metadata(j, doc, j->name);
    cJSON *spec = cJSON_AddObjectToObject(doc, "spec");
    cJSON_AddStringToObject(spec, "completionMode", "Indexed");
    cJSON_AddNumberToObject(spec, "completions", (double)j->ranks);
    cJSON_AddNumberToObject(spec, "parallelism", (double)(j->have_parallelism ? j->parallelism : j->ranks));
    /* each index retried on its own (Kubernetes 1.28+); the Job-wide limit then only stops a runaway:
     * every index may use all its retries, and no more */
    cJSON_AddNumberToObject(spec, "backoffLimitPerIndex", (double)j->backoff);
    unsigned long long total = j->ranks * j->backoff;
    cJSON_AddNumberToObject(spec, "backoffLimit", (double)(total > 2147483647ull ? 2147483647ull : total));
    /* a preempted or evicted pod is not a failure of its index; a usage error or bad input (64, 65)
     * fails the same way every time: no retry */
    cJSON *pfp = cJSON_AddObjectToObject(spec, "podFailurePolicy"), *rules = cJSON_AddArrayToObject(pfp, "rules");
    cJSON *r1 = cJSON_CreateObject();
    cJSON_AddStringToObject(r1, "action", "Ignore");
    cJSON *conds = cJSON_AddArrayToObject(r1, "onPodConditions"), *c1 = cJSON_CreateObject();
    cJSON_AddStringToObject(c1, "type", "DisruptionTarget");
    cJSON_AddItemToArray(conds, c1);
    cJSON_AddItemToArray(rules, r1);
    cJSON *r2 = cJSON_CreateObject();
    cJSON_AddStringToObject(r2, "action", "FailIndex");
    cJSON *oec = cJSON_AddObjectToObject(r2, "onExitCodes");
    cJSON_AddStringToObject(oec, "containerName", "trainbox");
    cJSON_AddStringToObject(oec, "operator", "In");
    cJSON *vals = cJSON_AddArrayToObject(oec, "values");
    cJSON_AddItemToArray(vals, cJSON_CreateNumber(64));
    cJSON_AddItemToArray(vals, cJSON_CreateNumber(65));
    cJSON_AddItemToArray(rules, r2);

    cJSON *c = job_container(spec, "trainbox", j->image);
    char *script = indexed_script(j);
    const char *cmd[] = {j->shell, "-c", script};
    cJSON_AddItemToObject(c, "command", strings(cmd, 3));
    free(script);
    cJSON *env = cJSON_AddArrayToObject(c, "env");
    env_addu(env, "TRAINBOX_WORLD_SIZE", j->ranks);
    if (j->manifests) env_add(env, "TRAINBOX_MANIFESTS", j->manifests);
    env_user(j, env);
    env_from(j, c);
    return doc;
}

static cJSON *merge_job(const struct job *j)
{
    char *name = tb_xasprintf("%s-merge", j->name);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "apiVersion", "batch/v1");
    cJSON_AddStringToObject(doc, "kind", "Job");
    metadata(j, doc, name);
    free(name);
    cJSON *spec = cJSON_AddObjectToObject(doc, "spec");
    cJSON_AddNumberToObject(spec, "completions", 1);
    cJSON_AddNumberToObject(spec, "parallelism", 1);
    cJSON_AddNumberToObject(spec, "backoffLimit", (double)j->backoff);
    cJSON *c = job_container(spec, "merge", j->image);
    char *script = k8s_merge_script();
    const char *cmd[] = {"sh", "-c", script};
    cJSON_AddItemToObject(c, "command", strings(cmd, 3));
    free(script);
    cJSON *env = cJSON_AddArrayToObject(c, "env");
    env_addu(env, "TRAINBOX_WORLD_SIZE", j->ranks);
    env_add(env, "TRAINBOX_MANIFESTS", j->manifests);
    env_add(env, "TRAINBOX_MERGED", j->merged);
    env_user(j, env);
    env_from(j, c);
    return doc;
}

/* ---- Kubeflow: the PyTorchJob ---- */

#define CKPT_DIR "/checkpoints"

/* The init container's restore: the newest complete checkpoint (discover's choice: its marker, or
 * every non-empty one when none has a marker) copied into CHECKPOINT_DIR; none at all (66) is a fresh
 * start, any other failure fails the pod rather than silently training from scratch. */
static const char restore_script[] =
    "set -eu\n"
    "if latest=$(trainbox discover --latest-checkpoint \"$CHECKPOINT_BASE_URI\"); then :; else\n"
    "  rc=$?\n"
    "  if [ \"$rc\" = 66 ]; then echo \"restore: no complete checkpoint under $CHECKPOINT_BASE_URI: a fresh start\" >&2; exit 0; fi\n"
    "  exit \"$rc\"\n"
    "fi\n"
    "uri=$(printf '%s\\n' \"$latest\" | sed -n 's/^{\"uri\":\"\\([^\"]*\\)\".*/\\1/p')\n"
    "[ -n \"$uri\" ] || { echo \"restore: cannot read discover's answer: $latest\" >&2; exit 70; }\n"
    "name=${uri%/}; name=${name##*/}; stem=${name%.*}\n"
    "stem=$(printf '%s' \"$stem\" | sed 's/[][*?{}\\\\]/\\\\&/g')\n"
    "echo \"restore: $uri into $CHECKPOINT_DIR\" >&2\n"
    "# the checkpoint directory, or the checkpoint file and its sidecars (step-N.pt, step-N.json)\n"
    "exec trainbox sync --include \"/$stem\" --include \"/$stem/**\" --include \"/$stem.*\" \"$CHECKPOINT_BASE_URI\" \"$CHECKPOINT_DIR/\"\n";

static cJSON *replica(const struct job *j, unsigned long long replicas)
{
    cJSON *rs = cJSON_CreateObject();
    cJSON_AddNumberToObject(rs, "replicas", (double)replicas);
    cJSON_AddStringToObject(rs, "restartPolicy", "OnFailure");
    cJSON *tmpl = cJSON_AddObjectToObject(rs, "template");
    cJSON *tmd = cJSON_AddObjectToObject(tmpl, "metadata"), *tl = cJSON_AddObjectToObject(tmd, "labels");
    cJSON_AddStringToObject(tl, "app.kubernetes.io/managed-by", "trainbox");
    cJSON *pspec = cJSON_AddObjectToObject(tmpl, "spec");

    cJSON *env = cJSON_CreateArray();
    env_add(env, "RUN_ID", j->run_id);
    env_addu(env, "NUM_NODES", j->nodes);
    env_addu(env, "GPUS_PER_NODE", j->gpus);
    env_add(env, "CHECKPOINT_DIR", CKPT_DIR);
    if (j->runs_base) {
        char *u;
        env_add(env, "FRAMEWORK", j->framework);
        env_add(env, "RUN_URI", j->runs_base);
        env_add(env, "CHECKPOINT_BASE_URI", u = tb_xasprintf("%scheckpoints/", j->runs_base)); free(u);
        env_add(env, "LOG_BASE_URI", u = tb_xasprintf("%slogs/", j->runs_base)); free(u);
        env_add(env, "CONFIG_URI", u = tb_xasprintf("%sconfig/", j->runs_base)); free(u);
    }
    env_user(j, env);

    cJSON *mounts = cJSON_CreateArray(), *mt = cJSON_CreateObject();
    cJSON_AddStringToObject(mt, "name", "checkpoints");
    cJSON_AddStringToObject(mt, "mountPath", CKPT_DIR);
    cJSON_AddItemToArray(mounts, mt);

    if (j->resume) {
        cJSON *inits = cJSON_AddArrayToObject(pspec, "initContainers"), *ic = cJSON_CreateObject();
        cJSON_AddItemToArray(inits, ic);
        cJSON_AddStringToObject(ic, "name", "restore");
        cJSON_AddStringToObject(ic, "image", j->image);
        const char *cmd[] = {"sh", "-c", restore_script};
        cJSON_AddItemToObject(ic, "command", strings(cmd, 3));
        cJSON_AddItemToObject(ic, "env", cJSON_Duplicate(env, 1));
        env_from(j, ic);
        cJSON_AddItemToObject(ic, "volumeMounts", cJSON_Duplicate(mounts, 1));
    }
    cJSON *ctrs = cJSON_AddArrayToObject(pspec, "containers"), *c = cJSON_CreateObject();
    cJSON_AddItemToArray(ctrs, c);
    cJSON_AddStringToObject(c, "name", "pytorch");
    cJSON_AddStringToObject(c, "image", j->image);
    const char *tr[] = {"torchrun"};
    cJSON_AddItemToObject(c, "command", strings(tr, 1));
    cJSON *args = cJSON_AddArrayToObject(c, "args");
    char t[64];
    snprintf(t, sizeof t, "--nnodes=%llu", j->nodes);
    cJSON_AddItemToArray(args, cJSON_CreateString(t));
    snprintf(t, sizeof t, "--nproc-per-node=%llu", j->gpus);
    cJSON_AddItemToArray(args, cJSON_CreateString(t));
    if (j->run) {
        /* a shell command line: each worker process runs it (torchrun --no-python execs it as is) */
        const char *w[] = {"--no-python", "sh", "-c", j->run};
        for (int i = 0; i < 4; i++) cJSON_AddItemToArray(args, cJSON_CreateString(w[i]));
    } else {
        for (int i = 0; i < j->nscript; i++) cJSON_AddItemToArray(args, cJSON_CreateString(j->script[i]));
    }
    cJSON_AddItemToObject(c, "env", env);
    env_from(j, c);
    cJSON *res = cJSON_AddObjectToObject(c, "resources"), *lim = cJSON_AddObjectToObject(res, "limits");
    cJSON_AddNumberToObject(lim, "nvidia.com/gpu", (double)j->gpus);
    cJSON *ports = cJSON_AddArrayToObject(c, "ports"), *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "name", "pytorchjob-port");   /* the port the operator points MASTER_PORT at */
    cJSON_AddNumberToObject(p, "containerPort", 23456);
    cJSON_AddItemToArray(ports, p);
    cJSON_AddItemToObject(c, "volumeMounts", mounts);
    cJSON *vols = cJSON_AddArrayToObject(pspec, "volumes"), *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "name", "checkpoints");
    cJSON_AddObjectToObject(v, "emptyDir");
    cJSON_AddItemToArray(vols, v);
    return rs;
}

static cJSON *pytorch_job(const struct job *j)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "apiVersion", "kubeflow.org/v1");
    cJSON_AddStringToObject(doc, "kind", "PyTorchJob");
    cJSON *md = metadata(j, doc, j->name);
    cJSON *ann = cJSON_AddObjectToObject(md, "annotations");
    cJSON_AddStringToObject(ann, "trainbox/run-id", j->run_id);
    cJSON *spec = cJSON_AddObjectToObject(doc, "spec");
    char t[32];
    snprintf(t, sizeof t, "%llu", j->gpus);
    cJSON_AddStringToObject(spec, "nprocPerNode", t);   /* a string in kubeflow.org/v1 */
    cJSON *rs = cJSON_AddObjectToObject(spec, "pytorchReplicaSpecs");
    cJSON_AddItemToObject(rs, "Master", replica(j, 1));
    if (j->nodes > 1) cJSON_AddItemToObject(rs, "Worker", replica(j, j->nodes - 1));
    return doc;
}

/* ---- Slurm: the array script ---- */

static char *slurm_script(const struct job *j)
{
    struct sb b = {0};
    sb_add(&b, "#!/bin/bash\n");
    sb_addf(&b, "#SBATCH --job-name=%s\n", j->job_name);
    if (j->have_max_parallel) sb_addf(&b, "#SBATCH --array=0-%llu%%%llu\n", j->ranks - 1, j->max_parallel);
    else sb_addf(&b, "#SBATCH --array=0-%llu\n", j->ranks - 1);
    if (j->time) sb_addf(&b, "#SBATCH --time=%s\n", j->time);
    if (j->partition) sb_addf(&b, "#SBATCH --partition=%s\n", j->partition);
    sb_add(&b, "# Rendered by trainbox job slurm: submit with 'sbatch FILE'. Rerun failed ranks with\n"
               "# 'sbatch --array=3,7 FILE': the rank is the array task id itself.\n"
               "set -euo pipefail\n");
    sb_addf(&b, "export TRAINBOX_WORLD_SIZE=%llu WORLD_SIZE=%llu\n", j->ranks, j->ranks);
    sb_add(&b, "# The script's array is 0..R-1 step 1, so the task id is the rank, whichever subset of\n"
               "# the array a submission runs (SLURM_ARRAY_TASK_MIN is the subset's first id, not 0)\n"
               "export RANK=\"$SLURM_ARRAY_TASK_ID\"\n"
               "if [ \"$RANK\" -ge \"$WORLD_SIZE\" ]; then\n"
               "  echo \"trainbox job: array task $RANK is not below the world size $WORLD_SIZE\" >&2; exit 64\n"
               "fi\n");
    if (j->manifests) sb_export(&b, "TRAINBOX_MANIFESTS", j->manifests);
    for (size_t i = 0; i < j->nenv; i++) {
        const char *eq = strchr(j->env[i], '=');
        char *k = tb_xstrndup(j->env[i], (size_t)(eq - j->env[i]));
        sb_export(&b, k, eq + 1);
        free(k);
    }
    if (j->merge) {
        /* the first task of each submission submits the merge, run once all of this submission's
         * tasks succeeded; a failed task cancels it (--kill-on-invalid-dep), and the submission that
         * reruns the failed ranks brings its own */
        sb_add(&b, "if [ \"$SLURM_ARRAY_TASK_ID\" = \"$SLURM_ARRAY_TASK_MIN\" ] && [ \"${SLURM_RESTART_COUNT:-0}\" = 0 ]; then\n"
                   "  sbatch --parsable --dependency=\"afterok:$SLURM_ARRAY_JOB_ID\" --kill-on-invalid-dep=yes \\\n");
        char *jn = tb_xasprintf("--job-name=%s-merge", j->job_name), *q = tb_shquote(jn);
        sb_addf(&b, "    %s", q);
        free(q);
        free(jn);
        if (j->time) { char *o = tb_xasprintf("--time=%s", j->time); q = tb_shquote(o); sb_addf(&b, " %s", q); free(q); free(o); }
        if (j->partition) { char *o = tb_xasprintf("--partition=%s", j->partition); q = tb_shquote(o); sb_addf(&b, " %s", q); free(q); free(o); }
        sb_add(&b, " <<'TRAINBOX_MERGE'\n#!/bin/bash\nset -euo pipefail\n");
        sb_addf(&b, "export TRAINBOX_WORLD_SIZE=%llu\n", j->ranks);
        sb_export(&b, "TRAINBOX_MANIFESTS", j->manifests);
        sb_export(&b, "TRAINBOX_MERGED", j->merged);
        sb_add(&b, "m=()\n"
                   "for ((i = 0; i < TRAINBOX_WORLD_SIZE; i++)); do m+=(\"$TRAINBOX_MANIFESTS/rank-$(printf %05d \"$i\").json\"); done\n"
                   "exec trainbox manifest merge -o \"$TRAINBOX_MERGED\" \"${m[@]}\"\n"
                   "TRAINBOX_MERGE\n"
                   "fi\n");
    }
    sb_add(&b, "# the per-rank pipeline\n");
    pipeline(j, &b);
    return b.p;
}

/* ---- options ---- */

static const char *const kind_names[] = {"indexed", "pytorchjob", "slurm", NULL};

/* Which kinds take an option (bit per kind), for the "does not go with" check. */
static unsigned kinds_of(int id)
{
    enum { I = 1u << INDEXED, P = 1u << PYTORCHJOB, S = 1u << SLURM };
    switch (id) {
    case OPT_FORMAT: case OPT_NAME: case OPT_IMAGE: case OPT_NAMESPACE: case OPT_SECRET: return I | P;
    case OPT_RANKS: case OPT_MANIFESTS: case OPT_MERGE: case OPT_MERGED: return I | S;
    case OPT_PARALLELISM: case OPT_BACKOFF: case OPT_SHELL: return I;
    case OPT_NODES: case OPT_GPUS: case OPT_RUNS_URI: case OPT_FRAMEWORK: case OPT_RESUME: case OPT_RUN_ID: return P;
    case OPT_MAX_PARALLEL: case OPT_JOB_NAME: case OPT_TIME: case OPT_PARTITION: return S;
    default: return I | P | S; /* --env, --run, -q, -v */
    }
}

/* A count option: a whole number from 1 to max. */
static int count(const struct tb_optparse *p, unsigned long long max, unsigned long long *out)
{
    if (tb_opt_u64(p, out)) return TB_EUSAGE;
    if (*out < 1 || *out > max) return tb_usage("job", "option '--%s' wants a number from 1 to %llu, not '%s'", p->name, max, p->arg);
    return 0;
}

/* The parent of a manifests directory URI, plus "manifest.json"; NULL when it has none. */
static char *merged_default(const char *m)
{
    size_t n = strlen(m);
    while (n > 1 && m[n - 1] == '/') n--;
    const char *scheme = strstr(m, "://");
    size_t floor = scheme ? (size_t)(scheme - m) + 3 : 0;
    /* s3://bucket/manifests -> s3://bucket/; s3://bucket alone has no parent inside the bucket */
    size_t k = n;
    while (k > floor && m[k - 1] != '/') k--;
    if (k <= floor) {
        if (scheme) return NULL;
        return tb_xstrdup("manifest.json");
    }
    if (scheme && !memchr(m + floor, '/', k - floor)) return NULL;
    return tb_xasprintf("%.*smanifest.json", (int)k, m);
}

/* A value that goes on an #SBATCH line as it is: no spaces, quotes or newlines. */
static int sbatch_value_ok(const char *s)
{
    if (!*s) return 0;
    for (const char *p = s; *p; p++)
        if (*p <= ' ' || *p == '\'' || *p == '"' || *p == '\\' || *p == 0x7f) return 0;
    return 1;
}

static const char *const reserved_env[] = {
    "RANK", "WORLD_SIZE", "TRAINBOX_WORLD_SIZE", "TRAINBOX_MANIFESTS", "TRAINBOX_MERGED", "JOB_COMPLETION_INDEX",
    "RUN_ID", "NUM_NODES", "GPUS_PER_NODE", "CHECKPOINT_DIR", "FRAMEWORK", "RUN_URI", "CHECKPOINT_BASE_URI",
    "LOG_BASE_URI", "CONFIG_URI", NULL,
};

static int check_env(const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq) return tb_usage("job", "--env wants K=V, not '%s'", kv);
    if (!env_name_ok(kv, (size_t)(eq - kv))) return tb_usage("job", "--env: '%.*s' is not a variable name (letters, digits, _)", (int)(eq - kv), kv);
    for (int i = 0; reserved_env[i]; i++)
        if (strlen(reserved_env[i]) == (size_t)(eq - kv) && strncmp(kv, reserved_env[i], (size_t)(eq - kv)) == 0)
            return tb_usage("job", "--env: %s is set by trainbox job itself", reserved_env[i]);
    return 0;
}

static int kind_checks(struct job *j, char **pos, int npos)
{
    if (j->kind == PYTORCHJOB) {
        j->script = pos;
        j->nscript = npos;
    } else if (npos) {
        return tb_usage("job", "unexpected argument '%s'", pos[0]);
    }
    if (j->kind != SLURM) {
        if (!j->name) return tb_usage("job", "%s needs --name", kind_names[j->kind]);
        if (!j->image) return tb_usage("job", "%s needs --image", kind_names[j->kind]);
        size_t max = j->kind == INDEXED && j->merge ? 63 - strlen("-merge") : 63;
        if (!dns_label_ok(j->name, max))
            return tb_usage("job", "--name '%s' is not a DNS label of at most %zu characters (a-z, 0-9, '-')", j->name, max);
        if (j->ns && !dns_label_ok(j->ns, 63)) return tb_usage("job", "--namespace '%s' is not a DNS label", j->ns);
        for (size_t i = 0; i < j->nsecrets; i++)
            if (!dns_label_ok(j->secrets[i], 253)) return tb_usage("job", "--secret '%s' is not a Secret name", j->secrets[i]);
    }
    if (j->kind != PYTORCHJOB) {
        if (!j->ranks) return tb_usage("job", "%s needs --ranks", kind_names[j->kind]);
        if (!j->run) return tb_usage("job", "%s needs --run PIPELINE", kind_names[j->kind]);
        if (j->have_parallelism && j->parallelism > j->ranks)
            return tb_usage("job", "--parallelism %llu is more than --ranks %llu", j->parallelism, j->ranks);
        if (j->have_max_parallel && j->max_parallel > j->ranks)
            return tb_usage("job", "--max-parallel %llu is more than --ranks %llu", j->max_parallel, j->ranks);
        if (j->manifests) {
            /* "URI/" and "URI" name the same directory: rank-NNNNN.json goes after one '/' */
            size_t n = strlen(j->manifests);
            while (n > 1 && j->manifests[n - 1] == '/') n--;
            j->manifests = j->manifests_owned = tb_xstrndup(j->manifests, n);
        }
        if (j->merge && !j->manifests) return tb_usage("job", "--merge needs --manifests URI (where the rank manifests are)");
        if (j->merged && !j->merge) return tb_usage("job", "--merged goes with --merge");
        if (j->merge && !j->merged) {
            j->merged = j->merged_owned = merged_default(j->manifests);
            if (!j->merged) return tb_usage("job", "--manifests '%s' has no parent directory: give --merged URI", j->manifests);
        }
    }
    if (j->kind == SLURM) {
        if (!j->job_name) j->job_name = "trainbox";
        const char *v[][2] = {{"job-name", j->job_name}, {"time", j->time}, {"partition", j->partition}};
        for (int i = 0; i < 3; i++)
            if (v[i][1] && !sbatch_value_ok(v[i][1]))
                return tb_usage("job", "--%s '%s' cannot go on an #SBATCH line (no spaces or quotes)", v[i][0], v[i][1]);
    }
    if (j->kind == PYTORCHJOB) {
        if (!j->nodes) return tb_usage("job", "pytorchjob needs --nodes");
        if (!j->gpus) return tb_usage("job", "pytorchjob needs --gpus-per-node");
        if (!j->run && !j->nscript) return tb_usage("job", "pytorchjob needs the training script after '--' (or --run CMD)");
        if (j->run && j->nscript) return tb_usage("job", "give the training script after '--' or --run CMD, not both");
        if (j->resume && !j->runs_uri) return tb_usage("job", "--resume needs --runs-uri (where the checkpoints are)");
        if (j->framework && !j->runs_uri) return tb_usage("job", "--framework goes with --runs-uri");
        if (!j->framework) j->framework = "pytorch";
        if (!*j->framework || strchr(j->framework, '/')) return tb_usage("job", "--framework '%s' cannot be a path component", j->framework);
        if (!j->run_id) {
            char t[32];
            time_t now = time(NULL);
            struct tm tm;
            gmtime_r(&now, &tm);
            strftime(t, sizeof t, "%Y%m%dT%H%M%SZ", &tm);
            j->run_id = j->run_id_owned = tb_xasprintf("%s-%s", j->name, t);
        }
        if (!*j->run_id || strchr(j->run_id, '/')) return tb_usage("job", "--run-id '%s' cannot be a path component", j->run_id);
        if (j->runs_uri) {
            size_t n = strlen(j->runs_uri);
            while (n > 1 && j->runs_uri[n - 1] == '/') n--;
            j->runs_base = tb_xasprintf("%.*s/%s/framework=%s/", (int)n, j->runs_uri, j->run_id, j->framework);
        }
    }
    return 0;
}

/* Options and their usage checks: 0, or the exit code (usage printed; 0 after --help is -1). */
static int parse_args(struct job *j, struct tb_optparse *p)
{
    int c, r = 0, fmt = 0;
    size_t envcap = 0, seccap = 0;
    /* the kind is the first word; options may come before it, so look for it first */
    int kind = -1;
    while ((c = tb_opts_next(p)) > 0) {
        switch (c) {
        case OPT_FORMAT: r = tb_opt_choice(p, (const char *const[]){"yaml", "json", NULL}, &fmt); j->json = fmt == 1; break;
        case OPT_NAME: j->name = p->arg; break;
        case OPT_IMAGE: j->image = p->arg; break;
        case OPT_NAMESPACE: j->ns = p->arg; break;
        case OPT_ENV:
            if ((r = check_env(p->arg))) break;
            tb_xgrow_n(&j->env, &envcap, j->nenv + 1, sizeof *j->env, 8);
            j->env[j->nenv++] = p->arg;
            break;
        case OPT_SECRET:
            tb_xgrow_n(&j->secrets, &seccap, j->nsecrets + 1, sizeof *j->secrets, 4);
            j->secrets[j->nsecrets++] = p->arg;
            break;
        case OPT_RANKS: r = count(p, 100000, &j->ranks); break;   /* Kubernetes' limit for Indexed Jobs */
        case OPT_PARALLELISM: r = count(p, 100000, &j->parallelism); j->have_parallelism = 1; break;
        case OPT_RUN: j->run = p->arg; break;
        case OPT_MANIFESTS: j->manifests = p->arg; break;
        case OPT_MERGE: j->merge = 1; break;
        case OPT_MERGED: j->merged = p->arg; break;
        case OPT_BACKOFF:
            if (tb_opt_u64(p, &j->backoff)) r = TB_EUSAGE;
            else if (j->backoff > 100) r = tb_usage("job", "--backoff-limit %llu: at most 100 retries per index", j->backoff);
            j->have_backoff = 1;
            break;
        case OPT_SHELL: j->shell = p->arg; break;
        case OPT_NODES: r = count(p, 100000, &j->nodes); break;
        case OPT_GPUS: r = count(p, 1024, &j->gpus); break;
        case OPT_RUNS_URI: j->runs_uri = p->arg; break;
        case OPT_FRAMEWORK: j->framework = p->arg; break;
        case OPT_RESUME: j->resume = 1; break;
        case OPT_RUN_ID: j->run_id = p->arg; break;
        case OPT_MAX_PARALLEL: r = count(p, 100000, &j->max_parallel); j->have_max_parallel = 1; break;
        case OPT_JOB_NAME: j->job_name = p->arg; break;
        case OPT_TIME: j->time = p->arg; break;
        case OPT_PARTITION: j->partition = p->arg; break;
        default: if (!tb_common_opt(p, c, &j->co)) r = tb_usage("job", "option '--%s' is not known here", p->name); break;
        }
        if (r) return r;
    }
    if (c < 0) return c == TB_OPTS_HELP ? -1 : TB_EUSAGE;
    if (p->npos < 1) return tb_usage("job", "give the kind: indexed, pytorchjob or slurm");
    for (int i = 0; kind_names[i]; i++)
        if (strcmp(p->pos[0], kind_names[i]) == 0) kind = i;
    if (kind < 0) return tb_usage("job", "unknown kind '%s' (indexed, pytorchjob, slurm)", p->pos[0]);
    j->kind = (enum kind)kind;
    return 0;
}

/* Every option given must belong to the kind: a second pass over argv, by the table. */
static int options_fit(const struct job *j, int argc, char **argv)
{
    struct tb_optparse p;
    tb_opts_init(&p, &tb_cmd_job, argc, argv);
    int c, r = 0;
    while (!r && (c = tb_opts_next(&p)) > 0)
        if (!(kinds_of(c) & (1u << j->kind))) r = tb_usage("job", "option '--%s' does not go with job %s", p.name, kind_names[j->kind]);
    tb_opts_free(&p);
    return r;
}

static int emit(const struct job *j, cJSON *const *docs, size_t n, tb_err *e)
{
    char *text = NULL;
    size_t len = 0;
    int r = 0;
    if (j->json) {
        cJSON *top = docs[0];
        if (n > 1) {
            /* several objects in one JSON document: a v1 List, which kubectl apply takes */
            top = cJSON_CreateObject();
            cJSON_AddStringToObject(top, "apiVersion", "v1");
            cJSON_AddStringToObject(top, "kind", "List");
            cJSON *items = cJSON_AddArrayToObject(top, "items");
            for (size_t i = 0; i < n; i++) cJSON_AddItemReferenceToArray(items, docs[i]);
        }
        text = cJSON_Print(top);
        if (!text) tb_oom(0);
        len = strlen(text);
        if (top != docs[0]) cJSON_Delete(top);
    } else if ((r = tb_yaml_render((const cJSON *const *)docs, n, &text, &len, e))) {
        return r;
    }
    if (fwrite(text, 1, len, stdout) != len || (j->json && putchar('\n') == EOF) || fflush(stdout) != 0)
        r = tb_fail_errno(e, TB_EIO, "write to stdout failed");
    free(text);
    return r;
}

static int cmd_job(int argc, char **argv)
{
    struct job j = {.shell = "sh", .backoff = 3};
    struct tb_optparse p;
    tb_opts_init(&p, &tb_cmd_job, argc, argv);
    int r = parse_args(&j, &p);
    if (!r) r = options_fit(&j, argc, argv);
    if (!r) r = kind_checks(&j, p.pos + 1, p.npos - 1);
    /* every value ends up in a YAML or JSON string or a script: refuse what is not text */
    for (int i = 1; !r && i < argc; i++)
        if (!tb_utf8_valid((const unsigned char *)argv[i], strlen(argv[i])))
            r = tb_usage("job", "argument %d is not valid UTF-8", i);
    if (!r) {
        tb_err e = {0};
        if (j.kind == SLURM) {
            char *s = slurm_script(&j);
            if (fputs(s, stdout) == EOF || fflush(stdout) != 0) r = tb_fail_errno(&e, TB_EIO, "write to stdout failed");
            free(s);
        } else {
            cJSON *docs[2];
            size_t n = 0;
            if (j.kind == INDEXED) {
                docs[n++] = indexed_job(&j);
                if (j.merge) docs[n++] = merge_job(&j);
            } else {
                docs[n++] = pytorch_job(&j);
            }
            r = emit(&j, docs, n, &e);
            for (size_t i = 0; i < n; i++) cJSON_Delete(docs[i]);
        }
        if (r) tb_report("job", &e);
    }
    free(j.env);
    free(j.secrets);
    free(j.merged_owned);
    free(j.manifests_owned);
    free(j.run_id_owned);
    free(j.runs_base);
    tb_opts_free(&p);
    return r < 0 ? 0 : r;
}
