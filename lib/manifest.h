/* manifest: the dataset index of DESIGN.md: records in, a manifest out (trainbox, wids or shardlist
 * form); parsing, validation, merging and totals. Pure: no I/O (the command reads and writes).
 * A shard's name is its file name (the last path component of its uri, else of its path): names are
 * unique within a dataset, which is what lets `upload` put shards of several splits under one prefix.
 *
 * Ranks: a manifest written by one rank of a job records "rank" and "world_size" at the top; merging
 * such rank manifests (tb_manifest_merge_ranks) checks that they make one dataset with every sample
 * once: every rank below the world size present exactly once, no shard name in two ranks, no sample
 * key that is a shard's first_key or last_key in two ranks. The merged manifest records "world_size"
 * at the top and "rank" in every shard record. All of these are optional: manifests without them
 * (every manifest written before) read and merge as before. */
#ifndef TB_MANIFEST_H
#define TB_MANIFEST_H
#include "err.h"
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

struct tb_shard_rec {
    const char *name;     /* points into json's "uri" or "path" string */
    const char *uri;      /* may be NULL */
    const char *path;     /* may be NULL */
    const char *sha256;   /* may be NULL */
    const char *md5;      /* may be NULL */
    const char *split;    /* may be NULL */
    uint64_t bytes;
    uint64_t samples;     /* 0 when absent */
    const char *first_key, *last_key; /* as shard writes them; may be NULL */
    int have_rank;        /* the record's "rank" (a merged manifest's) */
    uint32_t rank;
    cJSON *json;          /* the record as given (owned) */
};

struct tb_manifest {
    char *name;           /* dataset name or NULL */
    char *created;        /* RFC 3339, set when written */
    int have_rank, have_world; /* "rank" and "world_size" at the top */
    uint32_t rank, world;
    struct tb_shard_rec *shards;
    size_t n, cap;
};

void tb_manifest_init(struct tb_manifest *m);
void tb_manifest_free(struct tb_manifest *m);
/* Add one record line (as `shard` and `upload` print them). need_uri: refuse records without "uri"
 * (writing to a store, where a path on this machine means nothing to a reader). TB_EDATA on a bad
 * record, a duplicate name with the same checksum is dropped silently (re-emitted after a resume),
 * a duplicate name with a different sha256 or size is an error. */
int tb_manifest_add_line(struct tb_manifest *m, const char *line, size_t len, int need_uri, tb_err *e);
/* Add a parsed record (takes ownership of rec). Same rules. */
int tb_manifest_add_json(struct tb_manifest *m, cJSON *rec, int need_uri, tb_err *e);
/* Relative "path" values (and "uri" values that are relative paths) name files relative to the
 * manifest's own directory. Rewrite them from from_dir to to_dir (absolute directories). */
int tb_manifest_rebase(struct tb_manifest *m, const char *from_dir, const char *to_dir, tb_err *e);
/* Sort shards by name. */
void tb_manifest_sort(struct tb_manifest *m);
/* Parse a manifest document (format trainbox.manifest, version 1). TB_EDATA with the reason. */
int tb_manifest_parse(const char *text, size_t len, struct tb_manifest *m, tb_err *e);
/* Merge src into dst (conflicting shards are errors). */
int tb_manifest_merge(struct tb_manifest *dst, const struct tb_manifest *src, tb_err *e);
/* 1 when m was written by a rank or is a merge of ranks ("rank" or "world_size" at the top, or a
 * shard with "rank"). */
int tb_manifest_ranked(const struct tb_manifest *m);
/* Merge the rank manifests src[0..n) (names[i]: where each came from, for the messages) into dst,
 * which gets world_size and each shard's rank. world: the expected world size, or 0 to take the
 * inputs' (which must agree). TB_EDATA naming every problem (up to the message's room): an input
 * without a rank, world sizes that differ, a rank not below the world size, a rank given twice,
 * ranks missing (gaps), a shard name in two ranks, a sample key in two ranks (overlaps); nothing is
 * added to dst then. */
int tb_manifest_merge_ranks(struct tb_manifest *dst, const struct tb_manifest *const *src, const char *const *names,
                            size_t n, uint32_t world, tb_err *e);

struct tb_totals { uint64_t shards, samples, bytes; };
struct tb_totals tb_manifest_totals(const struct tb_manifest *m);

/* Documents (malloc'd, newline-terminated). created: RFC 3339 time to stamp. */
char *tb_manifest_json(const struct tb_manifest *m, const char *created);
/* wids index: urls relative to the index's own location (index_uri's directory) when they share it. */
char *tb_manifest_wids(const struct tb_manifest *m, const char *index_uri);
/* shardlist: "prefix-{000000..000127}.tar" when names are consecutive in one directory, else one url
 * per line. */
char *tb_manifest_shardlist(const struct tb_manifest *m);

/* The number-range brace form for a sorted list of names, or NULL when they are not one run of
 * consecutive zero-padded numbers with one prefix and suffix, or when the names hold '{', '}' or '\\'
 * (braceexpand, and lib/brace, would read those as pattern syntax). Expanded, it gives the names back. */
char *tb_brace_range(const char *const *names, size_t n);
/* Current time as RFC 3339 UTC ("2026-11-22T10:00:00Z"). */
void tb_rfc3339_now(char out[32]);
#endif
