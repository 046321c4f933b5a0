/* trailer: recognize and write the record-stream trailer (see ndjson_trailer.h). */
#include "ndjson_trailer.h"
#include "json.h"
#include "ndjson.h"
#include <string.h>

static int bad(tb_err *e, const char *why)
{
    tb_fail(e, TB_EDATA, "malformed trailer: %s", why);
    return -1;
}

/* A JSON number token that is a plain non-negative integer (no sign, fraction or exponent) fitting
 * 64 bits. */
static int parse_count(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 20 || (n > 1 && s[0] == '0')) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int check(struct tb_json *j, uint64_t *records, tb_err *e)
{
    int v = tb_json_field(j, "__end__");
    if (v < 0) return 0;
    if (tb_json_tok(j, 0).size != 1) return bad(e, "fields beside \"__end__\"");
    struct tb_jtok end = tb_json_tok(j, v);
    if (end.type != TB_JSON_OBJECT) return bad(e, "\"__end__\" is not an object");
    int have_n = 0, have_ok = 0;
    uint64_t n = 0;
    for (int f = 0, k = v + 1; f < end.size; f++) {
        int val = k + 1;
        struct tb_jtok t = tb_json_tok(j, val);
        const char *s = j->text + t.start;
        size_t sl = (size_t)(t.end - t.start);
        if (tb_json_key_eq(j, k, "records") && !have_n) {
            if (t.type != TB_JSON_PRIMITIVE || parse_count(s, sl, &n)) return bad(e, "\"records\" is not a non-negative integer");
            have_n = 1;
        } else if (tb_json_key_eq(j, k, "ok") && !have_ok) {
            if (t.type == TB_JSON_PRIMITIVE && sl == 5 && memcmp(s, "false", 5) == 0)
                return bad(e, "\"ok\" is false: the stage that wrote it failed");
            if (t.type != TB_JSON_PRIMITIVE || sl != 4 || memcmp(s, "true", 4) != 0) return bad(e, "\"ok\" is not true");
            have_ok = 1;
        } else {
            return bad(e, "unexpected or repeated field in \"__end__\"");
        }
        k = tb_json_skip(j, val);
    }
    if (!have_n) return bad(e, "no \"records\" count");
    if (!have_ok) return bad(e, "no \"ok\": true");
    *records = n;
    return 1;
}

int tb_trailer_parse(const char *line, size_t len, uint64_t *records, tb_err *e)
{
    /* A key spelled with \u escapes would slip past this test; writers never spell it so. */
    if (!memmem(line, len, "__end__", 7)) return 0;
    struct tb_json j;
    tb_json_init(&j);
    tb_err why = {0};
    int r;
    if (tb_json_scan_object(&j, line, len, &why) != 0) {
        /* not JSON at all is bad input for every reader; say it is about the trailer if it claims to be one */
        r = memmem(line, len, "\"__end__\"", 9) ? (tb_fail(e, TB_EDATA, "malformed trailer: %s", why.msg), -1) : 0;
    } else {
        r = check(&j, records, e);
    }
    tb_json_free(&j);
    return r;
}

int tb_trailer_write(FILE *f, uint64_t records, tb_err *e)
{
    char s[64];
    int n = snprintf(s, sizeof s, "{\"__end__\": {\"records\": %llu, \"ok\": true}}", (unsigned long long)records);
    int r = tb_write_line(f, s, (size_t)n, e);
    if (!r && fflush(f) != 0) r = tb_fail_errno(e, TB_EIO, "write failed");
    return r;
}
