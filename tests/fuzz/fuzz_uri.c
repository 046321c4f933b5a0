/* fuzz_uri: lib/uri's parser of every location form (tb_uri_parse): a parsed URI formats
 * (tb_uri_format) to a text that parses again to the same format, joins with a name (tb_uri_join),
 * and an hf:// one becomes a Hub location (tb_hf_loc_from_uri). */
/* -max_len for `make fuzz` (scripts/run-fuzz.sh reads this line) */
#define FUZZ_MAX_LEN 1024
#include "fuzz.h"
#include "hf.h"
#include "uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char *s = fz_str(data, size);
    struct tb_uri u;
    memset(&u, 0, sizeof u);
    tb_err e = {0};
    if (tb_uri_parse(s, &u, &e) == 0) {
        char *f = tb_uri_format(&u);
        struct tb_uri v;
        memset(&v, 0, sizeof v);
        int rc = tb_uri_parse(f, &v, &e);
        if (rc) fprintf(stderr, "%s -> %s: %s\n", s, f, e.msg);
        FZ_CHECK(rc == 0);
        char *g = tb_uri_format(&v);
        if (strcmp(f, g)) fprintf(stderr, "%s -> %s -> %s\n", s, f, g);
        FZ_CHECK(strcmp(f, g) == 0 && v.scheme == u.scheme);
        free(g);
        tb_uri_free(&v);
        free(f);
        (void)tb_uri_is_bucket(&u);
        (void)tb_scheme_name(u.scheme);
        struct tb_uri j;
        memset(&j, 0, sizeof j);
        if (tb_uri_join(&u, "part-000001.tar", &j, &e) == 0) {
            char *jf = tb_uri_format(&j);
            free(jf);
            tb_uri_free(&j);
        }
        if (u.scheme == TB_URI_HF) {
            struct tb_hf_loc l;
            memset(&l, 0, sizeof l);
            if (tb_hf_loc_from_uri(&u, &l, &e) == 0) {
                char *url = tb_hf_tree_url("https://huggingface.co", &l);
                free(url);
                (void)tb_hf_loc_wants(&l, "data/train-00000.tar", 20);
                tb_hf_loc_free(&l);
            }
        }
        tb_uri_free(&u);
    }
    free(s);
    return 0;
}
