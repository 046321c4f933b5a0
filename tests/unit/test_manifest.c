/* Unit tests for lib/manifest and lib/discover: records to manifests, validation, merge, wids,
 * brace ranges, shard groups and checkpoint names. */
#include "discover.h"
#include "manifest.h"
#include "tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REC(name, bytes, sha) "{\"path\":\"out/" name "\",\"uri\":\"s3://b/ds/" name "\",\"bytes\":" #bytes \
    ",\"sha256\":\"" sha "\",\"md5\":\"0123456789abcdef0123456789abcdef\",\"samples\":10,\"split\":\"train\"}"
#define SHA1 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA2 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static int add(struct tb_manifest *m, const char *s, int need_uri, tb_err *e)
{
    return tb_manifest_add_line(m, s, strlen(s), need_uri, e);
}

static void manifests(void)
{
    struct tb_manifest m;
    tb_err e = {0};
    tb_manifest_init(&m);
    CHECK(add(&m, REC("train-000001.tar", 200, SHA1), 1, &e) == 0, "add record");
    CHECK(add(&m, REC("train-000000.tar", 100, SHA2), 1, &e) == 0, "add another");
    CHECK(add(&m, REC("train-000000.tar", 100, SHA2), 1, &e) == 0 && m.n == 2, "the same record again is dropped (resume re-emits)");
    CHECK(add(&m, REC("train-000000.tar", 100, SHA1), 1, &e) == TB_EDATA && strstr(e.msg, "different sha256"), "same name, other sha256: %s", e.msg);
    CHECK(add(&m, REC("train-000000.tar", 101, SHA2), 1, &e) == TB_EDATA && strstr(e.msg, "different sizes"), "same name, other size: %s", e.msg);
    CHECK(add(&m, "{\"path\":\"x/train-000000.tar\",\"bytes\":100,\"sha256\":\"" SHA2 "\"}", 0, &e) == TB_EDATA && strstr(e.msg, "duplicate shard name"), "same name elsewhere: %s", e.msg);
    CHECK(add(&m, "{\"path\":\"a.tar\",\"bytes\":1}", 1, &e) == TB_EDATA && strstr(e.msg, "no \"uri\""), "uri required for a store: %s", e.msg);
    CHECK(add(&m, "{\"uri\":\"s3://b/a.tar\"}", 1, &e) == TB_EDATA && strstr(e.msg, "bytes"), "bytes required");
    CHECK(add(&m, "{\"uri\":\"s3://b/a.tar\",\"bytes\":-1}", 1, &e) == TB_EDATA, "negative bytes refused");
    CHECK(add(&m, "{\"uri\":\"s3://b/a.tar\",\"bytes\":1,\"sha256\":\"xyz\"}", 1, &e) == TB_EDATA && strstr(e.msg, "64 hex"), "bad sha256 refused");
    CHECK(add(&m, "nope", 1, &e) == TB_EDATA && strstr(e.msg, "not valid JSON"), "non-JSON refused");
    tb_manifest_sort(&m);
    CHECK_STR(m.shards[0].name, "train-000000.tar", "sorted by name");
    struct tb_totals t = tb_manifest_totals(&m);
    CHECK(t.shards == 2 && t.bytes == 300 && t.samples == 20, "totals");
    char *doc = tb_manifest_json(&m, "2026-11-22T00:00:00Z");
    CHECK(doc && strstr(doc, "\"format\":\"trainbox.manifest\",\"version\":1") && strstr(doc, "\"totals\":{\"shards\":2,\"samples\":20,\"bytes\":300}"), "manifest document: %s", doc);
    struct tb_manifest back;
    CHECK(tb_manifest_parse(doc, strlen(doc), &back, &e) == 0 && back.n == 2, "parse back");
    char *doc2 = tb_manifest_json(&back, "2026-11-22T00:00:00Z");
    CHECK_STR(doc2, doc, "round trip is identical");
    free(doc2);

    char *w = tb_manifest_wids(&m, "s3://b/ds/index.json");
    CHECK(w && strstr(w, "\"__kind__\":\"wids-shard-index-v1\"") && strstr(w, "{\"url\":\"train-000000.tar\",\"nsamples\":10,\"filesize\":100,\"md5sum\":\"0123456789abcdef0123456789abcdef\"}"), "wids relative urls: %s", w);
    free(w);
    w = tb_manifest_wids(&m, "s3://other/index.json");
    CHECK(w && strstr(w, "\"url\":\"s3://b/ds/train-000000.tar\""), "wids absolute urls elsewhere");
    free(w);
    char *sl = tb_manifest_shardlist(&m);
    CHECK_STR(sl, "s3://b/ds/train-{000000..000001}.tar\n", "shardlist brace form");
    free(sl);

    struct tb_manifest other;
    tb_manifest_init(&other);
    add(&other, REC("val-000000.tar", 7, SHA1), 1, &e);
    CHECK(tb_manifest_merge(&back, &other, &e) == 0 && back.n == 3, "merge");
    struct tb_manifest conflict;
    tb_manifest_init(&conflict);
    add(&conflict, REC("val-000000.tar", 8, SHA1), 1, &e);
    CHECK(tb_manifest_merge(&back, &conflict, &e) == TB_EDATA, "merge conflict refused: %s", e.msg);
    tb_manifest_free(&conflict);
    tb_manifest_free(&other);
    tb_manifest_free(&back);

    const char *bad[][2] = {
        {"not json", "not valid JSON"},
        {"{\"format\":\"x\",\"version\":1,\"shards\":[]}", "not a trainbox manifest"},
        {"{\"format\":\"trainbox.manifest\",\"version\":2,\"shards\":[]}", "unsupported manifest version 2"},
        {"{\"format\":\"trainbox.manifest\",\"shards\":[]}", "lacks \"version\""},
        {"{\"format\":\"trainbox.manifest\",\"version\":1}", "lacks a \"shards\" array"},
        {"{\"format\":\"trainbox.manifest\",\"version\":1,\"shards\":[{\"path\":\"a.tar\"}]}", "shard 0: record lacks \"bytes\""},
        {"{\"format\":\"trainbox.manifest\",\"version\":1,\"shards\":[{\"path\":\"a.tar\",\"bytes\":3}],\"totals\":{\"shards\":1,\"bytes\":4}}", "totals disagree"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tb_manifest x;
        int r = tb_manifest_parse(bad[i][0], strlen(bad[i][0]), &x, &e);
        CHECK(r == TB_EDATA && strstr(e.msg, bad[i][1]), "bad manifest refused with '%s': %s", bad[i][1], e.msg);
    }
    free(doc);
    tb_manifest_free(&m);

    const char *n1[] = {"a/x-0009.tar", "a/x-0010.tar", "a/x-0011.tar"};
    char *b = tb_brace_range(n1, 3);
    CHECK_STR(b, "a/x-{0009..0011}.tar", "brace across a digit carry keeps the width");
    free(b);
    const char *n2[] = {"a/x-0001.tar", "a/x-0003.tar"};
    CHECK(tb_brace_range(n2, 2) == NULL, "a gap is not a range");
    const char *n3[] = {"a/x-0001.tar", "b/x-0002.tar"};
    CHECK(tb_brace_range(n3, 2) == NULL, "other directory is not a range");
    const char *n4[] = {"a/x-1.tar", "a/x-2.tar.gz"};
    CHECK(tb_brace_range(n4, 2) == NULL, "other extension is not a range");
}

/* A rank manifest document: rank r of w, shards given as "name:first:last" words. */
static void rank_doc(struct tb_manifest *m, int r, int w, const char *shards)
{
    char doc[4096];
    size_t o = 0;
    o += (size_t)snprintf(doc + o, sizeof doc - o, "{\"format\":\"trainbox.manifest\",\"version\":1");
    if (r >= 0) o += (size_t)snprintf(doc + o, sizeof doc - o, ",\"rank\":%d", r);
    if (w >= 0) o += (size_t)snprintf(doc + o, sizeof doc - o, ",\"world_size\":%d", w);
    o += (size_t)snprintf(doc + o, sizeof doc - o, ",\"shards\":[");
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", shards);
    int first = 1;
    for (char *t = strtok(buf, " "); t; t = strtok(NULL, " ")) {
        char *f = strchr(t, ':'), *l = f ? strchr(f + 1, ':') : NULL;
        if (f) *f++ = 0;
        if (l) *l++ = 0;
        o += (size_t)snprintf(doc + o, sizeof doc - o, "%s{\"uri\":\"s3://b/%s\",\"bytes\":10,\"samples\":2%s%s%s%s%s}",
                              first ? "" : ",", t, f ? ",\"first_key\":\"" : "", f ? f : "", f ? "\",\"last_key\":\"" : "",
                              l ? l : "", f ? "\"" : "");
        first = 0;
    }
    snprintf(doc + o, sizeof doc - o, "]}");
    tb_err e = {0};
    int rc = tb_manifest_parse(doc, strlen(doc), m, &e);
    if (rc) { printf("# bad test document %s: %s\n", doc, e.msg); tb_manifest_init(m); }
}

static int merge_ranks(struct tb_manifest *out, struct tb_manifest *ms, size_t n, uint32_t world, tb_err *e)
{
    const struct tb_manifest *src[16];
    const char *names[16] = {"r0.json", "r1.json", "r2.json", "r3.json", "r4.json", "r5.json"};
    for (size_t i = 0; i < n; i++) src[i] = &ms[i];
    tb_manifest_init(out);
    memset(e, 0, sizeof *e);
    return tb_manifest_merge_ranks(out, src, names, n, world, e);
}

static void free_all(struct tb_manifest *ms, size_t n)
{
    for (size_t i = 0; i < n; i++) tb_manifest_free(&ms[i]);
}

static void ranks(void)
{
    struct tb_manifest ms[6], out;
    tb_err e;
    /* a rank manifest round-trips its rank and world size; an old one has neither */
    rank_doc(&ms[0], 2, 4, "a-0.tar:k1:k3");
    CHECK(ms[0].have_rank && ms[0].rank == 2 && ms[0].have_world && ms[0].world == 4, "rank and world size parsed");
    CHECK(ms[0].n == 1 && ms[0].shards[0].first_key && strcmp(ms[0].shards[0].last_key, "k3") == 0, "first/last keys read");
    char *doc = tb_manifest_json(&ms[0], "2026-01-01T00:00:00Z");
    CHECK(strstr(doc, "\"created\":\"2026-01-01T00:00:00Z\",\"rank\":2,\"world_size\":4,\"shards\""), "written back: %s", doc);
    free(doc);
    CHECK(tb_manifest_ranked(&ms[0]), "ranked");
    rank_doc(&ms[1], -1, -1, "a-0.tar");
    CHECK(!ms[1].have_rank && !ms[1].have_world && !tb_manifest_ranked(&ms[1]), "an old manifest: no rank");
    doc = tb_manifest_json(&ms[1], "2026-01-01T00:00:00Z");
    CHECK(!strstr(doc, "rank") && !strstr(doc, "world_size"), "and none written");
    free(doc);
    free_all(ms, 2);
    const char *bad[][2] = {
        {"{\"format\":\"trainbox.manifest\",\"version\":1,\"rank\":1,\"shards\":[]}", "no \"world_size\""},
        {"{\"format\":\"trainbox.manifest\",\"version\":1,\"rank\":4,\"world_size\":4,\"shards\":[]}", "not below"},
        {"{\"format\":\"trainbox.manifest\",\"version\":1,\"world_size\":0,\"shards\":[]}", "out of range"},
        {"{\"format\":\"trainbox.manifest\",\"version\":1,\"rank\":-1,\"world_size\":2,\"shards\":[]}", "\"rank\" is not"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tb_manifest x;
        int r = tb_manifest_parse(bad[i][0], strlen(bad[i][0]), &x, &e);
        CHECK(r == TB_EDATA && strstr(e.msg, bad[i][1]), "bad rank fields refused with '%s': %s", bad[i][1], e.msg);
    }

    /* a clean merge: world size at the top, each shard's rank; an empty rank is no gap */
    rank_doc(&ms[0], 0, 3, "s-0-0.tar:a:c s-0-1.tar:d:f");
    rank_doc(&ms[1], 2, 3, "s-2-0.tar:g:i");
    rank_doc(&ms[2], 1, 3, "");
    CHECK(merge_ranks(&out, ms, 3, 0, &e) == 0 && out.n == 3 && out.have_world && out.world == 3 && !out.have_rank,
          "three ranks merge: %s", e.msg);
    tb_manifest_sort(&out);
    CHECK(out.n == 3 && out.shards[0].have_rank && out.shards[0].rank == 0 && out.shards[2].rank == 2, "shards carry their ranks");
    doc = tb_manifest_json(&out, "2026-01-01T00:00:00Z");
    CHECK(strstr(doc, "\"world_size\":3") && strstr(doc, "\"uri\":\"s3://b/s-2-0.tar\"") && strstr(doc, "\"rank\":2}"), "merged document: %s", doc);
    /* a merged manifest merges again with more ranks' manifests... */
    struct tb_manifest again[2];
    tb_manifest_parse(doc, strlen(doc), &again[0], &e);
    free(doc);
    CHECK(!again[0].have_rank && again[0].have_world && again[0].shards[0].have_rank, "merged manifest parsed back");
    struct tb_manifest out2;
    CHECK(merge_ranks(&out2, again, 1, 0, &e) == 0 && out2.n == 3, "a merged manifest is complete on its own: %s", e.msg);
    tb_manifest_free(&out2);
    /* ...but not with one of its own ranks again */
    rank_doc(&again[1], 1, 3, "x-1.tar");
    CHECK(merge_ranks(&out2, again, 2, 0, &e) == TB_EDATA && strstr(e.msg, "rank 1 twice"), "a rank already merged: %s", e.msg);
    tb_manifest_free(&out2);
    free_all(again, 2);
    tb_manifest_free(&out);

    /* gaps, named in runs, with the expected world size from the caller */
    CHECK(merge_ranks(&out, ms, 2, 0, &e) == TB_EDATA && strstr(e.msg, "gap: no manifest for rank 1 (1 of 3 ranks missing)") && out.n == 0,
          "a missing rank is a gap: %s", e.msg);
    tb_manifest_free(&out);
    free_all(ms, 3);
    rank_doc(&ms[0], 0, 8, "a.tar");
    rank_doc(&ms[1], 3, 8, "b.tar");
    CHECK(merge_ranks(&out, ms, 2, 0, &e) == TB_EDATA && strstr(e.msg, "ranks 1-2, 4-7 (6 of 8 ranks missing)"), "gaps in runs: %s", e.msg);
    tb_manifest_free(&out);
    CHECK(merge_ranks(&out, ms, 2, 4, &e) == TB_EDATA && strstr(e.msg, "r0.json has world size 8, --world-size 4"), "the expected world size: %s", e.msg);
    tb_manifest_free(&out);
    free_all(ms, 2);

    /* overlaps: a shard name in two ranks; a sample key in two ranks; a rank twice */
    rank_doc(&ms[0], 0, 2, "same.tar:a:b");
    rank_doc(&ms[1], 1, 2, "same.tar:x:y");
    CHECK(merge_ranks(&out, ms, 2, 0, &e) == TB_EDATA && strstr(e.msg, "overlap: shard same.tar is in rank 0 (r0.json) and rank 1 (r1.json)"),
          "shard name overlap: %s", e.msg);
    tb_manifest_free(&out);
    free_all(ms, 2);
    rank_doc(&ms[0], 0, 2, "r0-0.tar:k0001:k0100 r0-1.tar:k0101:k0200");
    rank_doc(&ms[1], 1, 2, "r1-0.tar:k0150:k0200");
    CHECK(merge_ranks(&out, ms, 2, 0, &e) == TB_EDATA && strstr(e.msg, "overlap: sample key \"k0200\" is in rank 0 (shard r0-1.tar) and rank 1 (shard r1-0.tar)"),
          "key overlap: %s", e.msg);
    CHECK(!strstr(e.msg, "k0150"), "interleaved ranges alone are no overlap (ranks by index interleave keys)");
    tb_manifest_free(&out);
    free_all(ms, 2);
    rank_doc(&ms[0], 1, 2, "a.tar");
    rank_doc(&ms[1], 1, 2, "b.tar");
    CHECK(merge_ranks(&out, ms, 2, 0, &e) == TB_EDATA && strstr(e.msg, "rank 1 twice: r0.json and r1.json") && strstr(e.msg, "gap: no manifest for rank 0"),
          "a rank twice and the gap it leaves: %s", e.msg);
    tb_manifest_free(&out);
    free_all(ms, 2);
    /* inputs that cannot be merged as ranks */
    rank_doc(&ms[0], 0, 2, "a.tar");
    rank_doc(&ms[1], -1, -1, "b.tar");
    CHECK(merge_ranks(&out, ms, 2, 0, &e) == TB_EDATA && strstr(e.msg, "r1.json records no rank"), "an unranked input: %s", e.msg);
    tb_manifest_free(&out);
    free_all(ms, 2);
    rank_doc(&ms[0], 0, 2, "a.tar");
    rank_doc(&ms[1], 1, 3, "b.tar");
    CHECK(merge_ranks(&out, ms, 2, 0, &e) == TB_EDATA && strstr(e.msg, "r1.json has world size 3, r0.json 2"), "world sizes differ: %s", e.msg);
    tb_manifest_free(&out);
    free_all(ms, 2);
    /* many problems: the message names those that fit and counts the rest */
    for (int i = 0; i < 6; i++) {
        char sh[600] = "";
        size_t o = 0;
        for (int k = 0; k < 12; k++) o += (size_t)snprintf(sh + o, sizeof sh - o, "dup-%02d.tar:key%02d:key%02d ", k, k, k);
        rank_doc(&ms[i], i, 6, sh);
    }
    CHECK(merge_ranks(&out, ms, 6, 0, &e) == TB_EDATA && strstr(e.msg, "more)") && strlen(e.msg) < sizeof e.msg - 1,
          "overflowing problems are counted: %s", e.msg);
    tb_manifest_free(&out);
    free_all(ms, 6);
}

static void groups(void)
{
    struct tb_obj o[40];
    char keys[40][64];
    size_t n = 0;
    for (int i = 0; i < 12; i++) { if (i == 5) continue; snprintf(keys[n], 64, "data/train-%06d.tar", i); o[n] = (struct tb_obj){keys[n], 5000}; n++; }
    for (int i = 0; i < 9; i++) { snprintf(keys[n], 64, "data/val-%04d.tar", i); o[n] = (struct tb_obj){keys[n], 3000}; n++; }
    for (int i = 0; i < 9; i++) { snprintf(keys[n], 64, "logs/run-%03d.txt", i); o[n] = (struct tb_obj){keys[n], 10}; n++; }
    snprintf(keys[n], 64, "data/README.md"); o[n] = (struct tb_obj){keys[n], 9999}; n++;
    for (int i = 0; i < 3; i++) { snprintf(keys[n], 64, "data/few-%03d.tar", i); o[n] = (struct tb_obj){keys[n], 9999}; n++; }
    struct tb_group *g;
    size_t ng;
    tb_err e = {0};
    CHECK(tb_find_groups(o, n, 8, 1024, &g, &ng, NULL, &e) == 0 && ng == 2, "two groups (small logs and a 3-member group left out): %zu", ng);
    if (ng == 2) {
        CHECK_STR(g[0].head, "data/train-", "train head");
        CHECK(g[0].width == 6 && g[0].first == 0 && g[0].last == 11 && g[0].count == 11 && g[0].nmissing == 1 && g[0].missing[0] == 5, "train range with one gap");
        CHECK(g[0].bytes == 55000 && g[0].median == 5000, "bytes and median");
        CHECK_STR(g[1].tail, ".tar", "val tail");
    }
    tb_groups_free(g, ng);
}

static void checkpoints(void)
{
    struct { const char *name; int ok; uint64_t step; } c[] = {
        {"step-000123", 1, 123}, {"step_123", 1, 123}, {"global_step123", 1, 123}, {"checkpoint-123", 1, 123},
        {"epoch=2-step=1500.ckpt", 1, 1500}, {"ckpt_7", 1, 7}, {"iter_0005", 1, 5}, {"model.pt", 0, 0},
        {"stepper-3", 0, 0}, {"step12abc", 0, 0}, {"CHECKPOINT-9", 1, 9},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        uint64_t s = 0;
        int r = tb_ckpt_step(c[i].name, strlen(c[i].name), &s);
        CHECK(r == c[i].ok && (!r || s == c[i].step), "checkpoint name %s -> %d %llu", c[i].name, r, (unsigned long long)s);
    }
    struct tb_obj objs[] = {
        {"step-9/model.pt", 100}, {"step-10/model.pt", 100}, {"step-100/model.pt", 50},
        {"step-99/model.pt", 100}, {"step-99/optim.pt", 20}, {"step-99/.complete", 0}, {"notes.txt", 3},
    };
    struct tb_ckpt k;
    tb_err e = {0};
    CHECK(tb_latest_checkpoint(objs, 7, NULL, &k, &e) == 0, "found a checkpoint");
    CHECK_STR(k.path, "step-99/", "marked step-99 beats unmarked step-100");
    CHECK(k.step == 99 && k.bytes == 120 && k.objects == 3, "its size and objects");
    free(k.path);
    /* without any markers, every non-empty one counts, compared by number */
    CHECK(tb_latest_checkpoint(objs, 5, NULL, &k, &e) == 0, "unmarked");
    CHECK_STR(k.path, "step-100/", "step-100 beats step-99 (numbers, not strings)");
    free(k.path);
    struct tb_obj files[] = {{"epoch=1-step=500.ckpt", 10}, {"epoch=2-step=1500.ckpt", 10}, {"last.ckpt", 10}};
    CHECK(tb_latest_checkpoint(files, 3, NULL, &k, &e) == 0, "file checkpoints");
    CHECK_STR(k.path, "epoch=2-step=1500.ckpt", "newest file checkpoint");
    free(k.path);
    CHECK(tb_latest_checkpoint(objs + 6, 1, NULL, &k, &e) == TB_ENOINPUT, "none: 66");
    struct tb_obj custom[] = {{"step-1/DONE", 0}, {"step-1/m", 1}, {"step-2/m", 1}};
    CHECK(tb_latest_checkpoint(custom, 3, "DONE", &k, &e) == 0, "custom marker");
    CHECK_STR(k.path, "step-1/", "custom marker honoured");
    CHECK(k.sidecar == NULL, "a directory has no sidecar");
    free(k.path);

    /* Hugging Face Trainer's checkpoint-<step>/ directories, by number */
    struct tb_obj hf[] = {{"out/checkpoint-500/model.safetensors", 9}, {"out/checkpoint-500/trainer_state.json", 1},
                          {"out/checkpoint-1000/model.safetensors", 9}, {"out/checkpoint-1000/trainer_state.json", 1},
                          {"out/checkpoint-999/model.safetensors", 9}, {"out/runs/events.out", 5}};
    CHECK(tb_latest_checkpoint(hf, 6, NULL, &k, &e) == 0, "checkpoint-<step>/ directories");
    CHECK_STR(k.path, "out/checkpoint-1000/", "checkpoint-1000 beats checkpoint-999 and -500");
    CHECK(k.step == 1000 && k.objects == 2 && k.bytes == 10 && !k.sidecar, "its objects (the json inside is no sidecar)");
    free(k.path);
    /* step-<N>.pt files with step-<N>.json sidecars: the pair is one checkpoint, complete with its sidecar */
    struct tb_obj pt[] = {{"ck/step-90.pt", 100}, {"ck/step-90.json", 2}, {"ck/step-100.pt", 100}, {"ck/step-100.json", 2},
                          {"ck/step-200.pt", 40}, {"ck/step-300.json", 2}, {"ck/notes.json", 1}};
    CHECK(tb_latest_checkpoint(pt, 7, NULL, &k, &e) == 0, "file checkpoints with sidecars");
    CHECK_STR(k.path, "ck/step-100.pt", "step-100 (with its sidecar) beats step-200.pt (none yet) and a lone step-300.json");
    CHECK_STR(k.sidecar, "ck/step-100.json", "its sidecar");
    CHECK(k.step == 100 && k.bytes == 102 && k.objects == 2 && k.marked, "weights and sidecar counted together");
    free(k.path);
    free(k.sidecar);
    /* without any sidecar, files count by number (step-9 < step-10); a lone sidecar never does */
    CHECK(tb_latest_checkpoint(pt + 4, 1, NULL, &k, &e) == 0, "a file alone");
    CHECK_STR(k.path, "ck/step-200.pt", "it counts when no sidecar is in use");
    free(k.path);
    CHECK(tb_latest_checkpoint(pt + 5, 2, NULL, &k, &e) == TB_ENOINPUT, "a sidecar without its weights is no checkpoint: %s", e.msg);
    struct tb_obj nums[] = {{"step-9.pt", 1}, {"step-9.json", 1}, {"step-10.pt", 1}, {"step-10.json", 1}, {"step-000011.safetensors", 1},
                            {"step-000011.json", 1}};
    CHECK(tb_latest_checkpoint(nums, 6, NULL, &k, &e) == 0, "numbers across widths");
    CHECK_STR(k.path, "step-000011.safetensors", "step-000011 beats step-10 beats step-9, any weights extension");
    CHECK_STR(k.sidecar, "step-000011.json", "with its sidecar");
    free(k.path);
    free(k.sidecar);
    /* a sidecar marks a file as a marker marks a directory: both shapes in one listing */
    struct tb_obj mix[] = {{"step-50/m.pt", 5}, {"step-50/.complete", 0}, {"step-60.pt", 5}, {"step-60.json", 1}, {"step-70/m.pt", 5}};
    CHECK(tb_latest_checkpoint(mix, 5, NULL, &k, &e) == 0, "mixed shapes");
    CHECK_STR(k.path, "step-60.pt", "the newest marked one, of either shape");
    free(k.path);
    free(k.sidecar);
}

int main(void)
{
    manifests();
    ranks();
    groups();
    checkpoints();
    return tap_done();
}
