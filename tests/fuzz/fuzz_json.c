/* fuzz_json: lib/json's scan of one JSON text (tb_json_scan, tb_json_scan_object), the fast
 * validity check that must never accept what the scan refuses (tb_json_check_object and
 * tb_json_fast_object), and every string token unescaped into buffers of exact and short sizes
 * (tb_json_unescape must never write past cap); tb_json_quote's output scans back as the same string. */
/* -max_len for `make fuzz` (scripts/run-fuzz.sh reads this line) */
#define FUZZ_MAX_LEN 4096
#include "fuzz.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct tb_json j, k;
    tb_err e = {0};
    tb_json_init(&j);
    tb_json_init(&k);
    int obj = tb_json_scan_object(&j, text, size, &e);
    int chk = tb_json_check_object(&k, text, size, &e);
    FZ_CHECK((obj == 0) == (chk == 0));
    if (tb_json_fast_object(text, size)) FZ_CHECK(obj == 0);
    if (tb_json_scan(&j, text, size, &e) == 0) {
        FZ_CHECK(j.n > 0);
        FZ_CHECK(tb_json_skip(&j, 0) == j.n);
        (void)tb_json_field(&j, "__key__");
        for (int i = 0; i < j.n; i++) {
            struct tb_jtok t = tb_json_tok(&j, i);
            FZ_CHECK(t.start >= 0 && t.end >= t.start && (size_t)t.end <= size);
            if (t.type != TB_JSON_STRING) continue;
            size_t raw = (size_t)(t.end - t.start);
            char *out = tb_xmalloc(raw + 1);
            long d = tb_json_unescape(&j, i, out, raw + 1); /* decoded text is never longer than raw */
            FZ_CHECK(d >= 0 && (size_t)d <= raw);
            FZ_CHECK(tb_utf8_valid((const unsigned char *)out, (size_t)d));
            if (d > 0) {
                char *shortb = tb_xmalloc((size_t)d - 1 + 1);
                FZ_CHECK(tb_json_unescape(&j, i, shortb, (size_t)d - 1) == -1);
                free(shortb);
            }
            /* quote it again: the literal scans as one string decoding to the same bytes */
            size_t need = tb_json_quote(out, (size_t)d, NULL, 0);
            char *q = tb_xmalloc(need + 1);
            FZ_CHECK(tb_json_quote(out, (size_t)d, q, need + 1) == need);
            struct tb_json r;
            tb_json_init(&r);
            FZ_CHECK(tb_json_scan(&r, q, need, &e) == 0 && tb_json_tok(&r, 0).type == TB_JSON_STRING);
            char *back = tb_xmalloc(need + 1);
            long d2 = tb_json_unescape(&r, 0, back, need + 1);
            FZ_CHECK(d2 == d && memcmp(back, out, (size_t)d) == 0);
            free(back);
            tb_json_free(&r);
            free(q);
            if (i + 1 < j.n) (void)tb_json_key_eq(&j, i, "__key__");
            free(out);
        }
    }
    tb_json_free(&j);
    tb_json_free(&k);
    return 0;
}
