/* fuzz_manifest: lib/manifest's parser of a manifest document (tb_manifest_parse) and of record
 * lines (tb_manifest_add_line), then everything made from a parsed one: totals, sort, merge with
 * itself, and the trainbox, wids and shardlist forms (the trainbox form parses back). */
/* -max_len for `make fuzz` (scripts/run-fuzz.sh reads this line) */
#define FUZZ_MAX_LEN 8192
#include "fuzz.h"
#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned mode = fz_byte(&data, &size) & 1;
    char *text = fz_str(data, size);
    struct tb_manifest m;
    tb_manifest_init(&m);
    tb_err e = {0};
    int rc = 0;
    if (mode == 0) rc = tb_manifest_parse(text, size, &m, &e);
    else {
        /* record lines, as shard and upload print them */
        char *p = text, *end = text + size;
        while (p < end && !rc) {
            char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
            rc = tb_manifest_add_line(&m, p, n, 0, &e);
            p += n + 1;
        }
    }
    if (rc == 0) {
        (void)tb_manifest_totals(&m);
        tb_manifest_sort(&m);
        char *j = tb_manifest_json(&m, "2026-01-01T00:00:00Z");
        if (j) {
            struct tb_manifest b;
            tb_manifest_init(&b);
            int r2 = tb_manifest_parse(j, strlen(j), &b, &e);
            if (r2) fprintf(stderr, "own manifest refused: %s\n%s\n", e.msg, j);
            FZ_CHECK(r2 == 0 && b.n == m.n);
            struct tb_manifest c;
            tb_manifest_init(&c);
            (void)tb_manifest_merge(&c, &b, &e); /* (what merge refuses is lib/manifest's rule) */
            (void)tb_manifest_merge(&c, &m, &e); /* the same records again: dropped */
            tb_manifest_free(&c);
            tb_manifest_free(&b);
            free(j);
        }
        free(tb_manifest_wids(&m, "s3://b/index.json"));
        free(tb_manifest_shardlist(&m));
    }
    tb_manifest_free(&m);
    free(text);
    return 0;
}
