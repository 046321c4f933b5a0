/* cat_list: what `cat` reads, as an ordered list of inputs made before a byte is read, so that ranks
 * can partition it (file i to rank i mod N), --state can name an input by its index, and prefetch can
 * look ahead. Each URI argument expands, in argument order, into:
 *   -                      stdin (NDJSON)
 *   a file, file://        itself, read by the kind its name says (unknown names are NDJSON)
 *   a directory, a glob    its files of a known kind, in the byte order of their full paths (lib/walk)
 *   http(s)://URL          one object
 *   s3:// r2:// gs:// az:// one object; or every object under a prefix (a key ending in '/' or empty),
 *                          in name order, filtered by --glob; globs and brace ranges in keys
 *   .../manifest.json      the shards the manifest lists, in its order (local or remote)
 *   hf://                  the Hub's listing of the location (lib/hf)
 * Remote inputs name one of the list's roots: every input under one bucket (or one http origin, or
 * the Hub) shares one root, so the reader opens one store per root, not one per object. */
#ifndef TB_CAT_LIST_H
#define TB_CAT_LIST_H
#include "err.h"
#include <stddef.h>
#include <stdint.h>

enum tb_cat_kind {
    TB_CAT_NDJSON = 0, /* .jsonl, .ndjson, and names of no known kind */
    TB_CAT_NDJSON_Z,   /* .jsonl.gz, .jsonl.zst, .ndjson.gz, .ndjson.zst */
    TB_CAT_TAR,        /* .tar, .tar.gz, .tgz, .tar.zst, .tar.zstd */
    TB_CAT_PARQUET,    /* .parquet: refused when read (no C reader in Debian), exit 65 with a hint */
};

/* The kind a name says; -1 for names of no known kind (a directory walk or a prefix skips them;
 * a file named explicitly is read as NDJSON). An http URL's query and fragment are not its name. */
int tb_cat_kind_of(const char *name);

enum tb_cat_root_type {
    TB_CAT_ROOT_STORE = 0, /* a bucket or container: s3/r2/gs/az root URI, keys are object keys */
    TB_CAT_ROOT_HTTP,      /* a plain http(s) origin: keys are absolute URLs */
    TB_CAT_ROOT_HF,        /* the Hugging Face Hub (HF_ENDPOINT): keys are resolve URLs; the token
                            * goes to the Hub's origin only, never across a redirect elsewhere */
};

/* One store the list's remote inputs share. */
struct tb_cat_root {
    int type;
    char *uri;             /* the URI to open the store on: "s3://bucket/", "az://acct/cont/",
                            * "https://host/" or the HF endpoint */
};

struct tb_cat_input {
    char *name;            /* the path or URI, for messages, the state file and the cache's identity */
    int root;              /* index into roots; -1: a local file ("-": stdin) */
    char *key;             /* the key within the root's store (local: the path) */
    int64_t size;          /* bytes, from the listing; -1 unknown (checked at the end when known) */
    char etag[160];        /* from the listing, without quotes; "" unknown */
    int kind;              /* enum tb_cat_kind */
};

struct tb_cat_list {
    struct tb_cat_input *v;
    size_t n, cap;
    struct tb_cat_root *roots;
    size_t nroots, roots_cap;
};

void tb_cat_list_init(struct tb_cat_list *l);
void tb_cat_list_free(struct tb_cat_list *l);
/* The index of the root of this type and URI, added when new. */
int tb_cat_list_root(struct tb_cat_list *l, int type, const char *uri);
/* Append one input (strings copied); returns its index. */
size_t tb_cat_list_add(struct tb_cat_list *l, const char *name, int root, const char *key, int64_t size,
                       const char *etag, int kind);

/* Keep only rank's share: inputs i with i mod world == rank, after an optional deterministic
 * shuffle of the whole list (lib/split's tb_shuffle with seed and epoch: every rank computes the
 * same permutation, so the shares stay disjoint and complete). The order within the share is the
 * list's (shuffled) order. */
void tb_cat_list_partition(struct tb_cat_list *l, uint32_t rank, uint32_t world, int shuffle, uint64_t seed,
                           uint64_t epoch);

struct tb_store_cfg;
struct tb_glob;
struct tb_cat_expand_cfg {
    const struct tb_store_cfg *store; /* the store option group, for listing prefixes and reading manifests */
    const struct tb_glob *glob;       /* --glob: what a directory walk or a prefix listing keeps, matched
                                       * against the path below the directory or prefix; NULL: all */
    int quiet;                        /* no warnings (a symlinked directory not entered) */
};
/* Append what one URI argument names (the forms above), in reading order. Nothing matching is 66
 * (a missing file, an empty prefix, a glob matching nothing); a bad URI 64; listing failures as the
 * store reports them (77 refused, 69 unreachable). */
int tb_cat_expand(struct tb_cat_list *l, const char *arg, const struct tb_cat_expand_cfg *cfg, tb_err *e);
#endif
