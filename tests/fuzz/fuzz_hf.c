/* fuzz_hf: what lib/hf reads from the Hugging Face Hub: a tree listing page (tb_hf_tree_parse, for
 * a glob and a directory location, then sorted), a Link header's next URL (tb_hf_link_next against
 * a base URL), the Retry-After and RateLimit headers (tb_hf_retry_hint_ms, capped), %-escapes
 * (tb_hf_pct_decode) and the token rule for a redirect URL (tb_hf_may_send_token). The first byte
 * picks the part; header inputs are two strings split at the first NUL. */
/* -max_len for `make fuzz` (scripts/run-fuzz.sh reads this line) */
#define FUZZ_MAX_LEN 8192
#include "fuzz.h"
#include "hf.h"

static struct tb_hf_loc glob_loc, dir_loc;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    tb_err e = {0};
    if (tb_hf_loc_parse("hf://datasets/org/name/data/**/*.jsonl", &glob_loc, &e) ||
        tb_hf_loc_parse("hf://datasets/org/name@v1/data/", &dir_loc, &e)) {
        fprintf(stderr, "fuzz_hf: %s\n", e.msg);
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!glob_loc.type) LLVMFuzzerInitialize(NULL, NULL);
    unsigned mode = fz_byte(&data, &size) % 4;
    tb_err e = {0};
    if (mode == 0) {
        for (int k = 0; k < 2; k++) {
            struct tb_hf_list ls;
            memset(&ls, 0, sizeof ls);
            int rc = tb_hf_tree_parse((const char *)data, size, k ? &dir_loc : &glob_loc, &ls, &e);
            if (rc) FZ_CHECK(rc == TB_EDATA);
            for (size_t i = 0; i < ls.n; i++) FZ_CHECK(ls.f[i].path && ls.f[i].oid && ls.f[i].etag);
            tb_hf_list_sort(&ls);
            for (size_t i = 1; i < ls.n; i++) FZ_CHECK(strcmp(ls.f[i - 1].path, ls.f[i].path) < 0);
            tb_hf_list_free(&ls);
        }
        return 0;
    }
    char *s = fz_str(data, size);
    size_t n1 = strlen(s);
    const char *a = s, *b = n1 < size ? s + n1 + 1 : "";
    if (mode == 1) {
        char *out = NULL;
        const char *base = *b ? b : "https://huggingface.co/api/datasets/org/name/tree/main/data?recursive=true";
        if (tb_hf_link_next(a, base, &out)) FZ_CHECK(out != NULL);
        free(out);
    } else if (mode == 2) {
        long ms = tb_hf_retry_hint_ms(*a ? a : NULL, *b ? b : NULL, 1767225600, 60000);
        FZ_CHECK(ms >= -1 && ms <= 60000);
        ms = tb_hf_retry_hint_ms(*b ? b : NULL, *a ? a : NULL, 0, 1000);
        FZ_CHECK(ms >= -1 && ms <= 1000);
    } else {
        char *d = NULL;
        if (tb_hf_pct_decode(a, &d, &e) == 0) {
            FZ_CHECK(d != NULL);
            char *enc = tb_hf_pct_encode(d, 1);
            char *d2 = NULL;
            FZ_CHECK(tb_hf_pct_decode(enc, &d2, &e) == 0 && strcmp(d, d2) == 0);
            free(d2);
            free(enc);
        }
        free(d);
        (void)tb_hf_may_send_token("https://huggingface.co", a);
        if (*b) (void)tb_hf_may_send_token(a, b);
    }
    free(s);
    return 0;
}
