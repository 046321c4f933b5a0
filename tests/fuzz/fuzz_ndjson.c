/* fuzz_ndjson: lib/ndjson's bounded line reader over a memory source read in pieces of 1 byte up,
 * with a small --max-line, empty lines kept or skipped, over-long lines skipped or failed, and long
 * lines taken in pieces (tb_lines_set_big, tb_lines_big_next). Every line is compared with a plain
 * model (split at '\n', one '\r' before it dropped), and each one is checked as a JSON object the
 * way shard and cat check their lines (tb_json_check_object). Options: the first three bytes. */
/* -max_len for `make fuzz` (scripts/run-fuzz.sh reads this line) */
#define FUZZ_MAX_LEN 4096
#include "fuzz.h"
#include "json.h"
#include "ndjson.h"

/* The model's next line from p[*off..n): returns 0 at the end, else 1 with its span. */
static int model_next(const char *p, size_t n, size_t *off, int keep_empty, const char **s, size_t *len, size_t *raw)
{
    while (*off < n) {
        const char *a = p + *off, *nl = memchr(a, '\n', n - *off);
        size_t k = nl ? (size_t)(nl - a) : n - *off;
        *off += k + (nl != NULL);
        *raw = k;
        if (k && a[k - 1] == '\r') k--;
        if (k == 0 && !keep_empty) continue;
        *s = a;
        *len = k;
        return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned b0 = fz_byte(&data, &size), flags = fz_byte(&data, &size), ml = fz_byte(&data, &size);
    size_t max_line = (flags & 8) ? (size_t)ml + 1 : TB_MAX_LINE_DEFAULT;
    size_t big = (flags & 4) ? (size_t)(ml >> 2) + 1 : 0;
    struct tb_src src;
    fz_mem_src(&src, data, size, fz_chunk(b0));
    struct tb_lines r;
    tb_lines_init(&r, &src, max_line);
    r.keep_empty = flags & 1;
    r.skip_long = (flags >> 1) & 1;
    if (big) tb_lines_set_big(&r, big);
    struct tb_json j;
    tb_json_init(&j);
    tb_err e = {0};
    size_t moff = 0, mlen = 0, mraw = 0, acc_cap = 0, acc_n = 0;
    const char *ms = NULL;
    char *acc = NULL;
    int rc;
    for (;;) {
        char *line;
        size_t len;
        rc = tb_lines_next(&r, &line, &len, &e);
        int have = model_next((const char *)data, size, &moff, r.keep_empty, &ms, &mlen, &mraw);
        if (rc == 0) { FZ_CHECK(!have); break; }
        FZ_CHECK(have);
        /* a line with its '\r' is raw bytes long: which of the two max_line counts is the reader's */
        int ambiguous = mlen <= max_line && mraw > max_line;
        if (rc < 0) { FZ_CHECK(mlen > max_line || ambiguous); break; }
        if (rc == TB_LINE_LONG) {
            FZ_CHECK(r.skip_long && (mlen > max_line || ambiguous));
            FZ_CHECK(r.long_len == mlen || r.long_len == mraw);
            continue;
        }
        if (rc == TB_LINE_BIG) {
            FZ_CHECK(big && mraw > big); /* counted with a '\r' before the newline */
            acc_n = 0;
            const char *p;
            size_t n;
            int b;
            while ((b = tb_lines_big_next(&r, &p, &n, &e)) == 1) {
                tb_xgrow(&acc, &acc_cap, acc_n + n + 1);
                memcpy(acc + acc_n, p, n);
                acc_n += n;
            }
            if (b < 0) { FZ_CHECK(!r.skip_long && (mlen > max_line || ambiguous)); rc = -1; break; }
            if (b == TB_LINE_LONG) { FZ_CHECK(r.skip_long && (mlen > max_line || ambiguous)); continue; }
            FZ_CHECK(b == 0);
            FZ_CHECK(acc_n == mlen && (!mlen || memcmp(acc, ms, mlen) == 0));
            continue;
        }
        FZ_CHECK(rc == 1);
        FZ_CHECK(mlen <= max_line || ambiguous);
        FZ_CHECK(len == mlen && memcmp(line, ms, len) == 0 && line[len] == 0);
        FZ_CHECK(r.keep_empty || len > 0);
        (void)tb_json_check_object(&j, line, len, &e);
    }
    if (rc == 0) FZ_CHECK(r.bytes == size);
    free(acc);
    tb_json_free(&j);
    tb_lines_free(&r);
    tb_src_close(&src);
    return 0;
}
