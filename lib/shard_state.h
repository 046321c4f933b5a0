/* shardstate: shard's resume checkpoint. Written atomically (temp, fsync, rename) only after a
 * shard is durable under its final name, so it never names work that could be lost: how many input
 * lines and bytes were consumed, how many samples and rejected lines they held, the next shard
 * number, and the records of all finished shards (re-emitted on resume, byte for byte). Also what
 * recognizes "the same command on the same input": a hash of the options, a hash of the input's
 * first line, and the key of the last sample consumed. */
#ifndef TB_SHARDSTATE_H
#define TB_SHARDSTATE_H
#include "err.h"
#include <stddef.h>
#include <stdint.h>

struct tb_shardstate {
    char options[65];        /* sha256 hex of the canonical option string */
    char first_line[65];     /* sha256 hex of input line 1, "" before any line */
    uint64_t lines;          /* physical input lines consumed (empty ones included) */
    uint64_t bytes;          /* input bytes consumed */
    uint64_t samples;        /* samples written */
    uint64_t invalid;        /* lines rejected (--skip-invalid) */
    uint64_t dupes;          /* samples dropped for a repeated key (--dedupe); absent in older states: 0 */
    uint64_t rejects_bytes;  /* length of the --rejects file */
    uint64_t next_shard;
    uint64_t last_line;      /* line number of the last sample written, 0 if none */
    char *last_key;          /* its key */
    char **records;          /* record lines of finished shards, in order */
    size_t nrec, caprec;
};

void tb_shardstate_init(struct tb_shardstate *s);
void tb_shardstate_free(struct tb_shardstate *s);
/* Load path. *found = 0 (and s initialized) when it does not exist. Unreadable or malformed:
 * TB_EDATA naming the file. */
int tb_shardstate_load(const char *path, struct tb_shardstate *s, int *found, tb_err *e);
/* The same from a document in memory (name for the message). */
int tb_shardstate_parse(const char *text, size_t len, const char *name, struct tb_shardstate *s, tb_err *e);
int tb_shardstate_save(const char *path, const struct tb_shardstate *s, tb_err *e);
/* These two return 0 (out of memory is lib/alloc's exit); e stays for the callers' error chains. */
int tb_shardstate_add_record(struct tb_shardstate *s, const char *line, tb_err *e);
int tb_shardstate_set_last_key(struct tb_shardstate *s, const char *key, size_t n, tb_err *e);
#endif
