/* fuzz_vast_query: lib/vast_query's offer query language (tb_vast_query_parse) on words split from
 * the input at NUL bytes (as argv gives them; a word may hold several clauses), then --order,
 * --limit, --type and --storage applied to the body; a body made is always printable JSON, an error
 * is 64 with a message. Line 1 of the input (up to '\n') is the --order spec. */
/* -max_len for `make fuzz` (scripts/run-fuzz.sh reads this line) */
#define FUZZ_MAX_LEN 1024
#include "fuzz.h"
#include "vast_query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char *s = fz_str(data, size);
    char *order = NULL, *q = s;
    char *nl = memchr(s, '\n', size);
    if (nl) { *nl = 0; order = s; q = nl + 1; }
    size_t qn = size - (size_t)(q - s);
    const char *words[64];
    int n = 0;
    for (char *p = q; p <= q + qn && n < 64;) {
        words[n++] = p;
        p += strlen(p) + 1;
    }
    if (n && !*words[n - 1]) n--; /* a trailing NUL ends the last word */
    cJSON *body = NULL;
    tb_err e = {0};
    int rc = tb_vast_query_parse(words, n, &body, &e);
    if (rc == 0) {
        FZ_CHECK(cJSON_IsObject(body));
        if (order) (void)tb_vast_query_order(body, order, &e);
        tb_vast_query_limit(body, 10);
        (void)tb_vast_query_type(body, n ? words[0] : "bid", &e);
        (void)tb_vast_query_storage(body, 1e30, &e);
        (void)tb_vast_query_storage(body, 32.5, &e);
        char *t = cJSON_PrintUnformatted(body);
        FZ_CHECK(t != NULL);
        cJSON *back = cJSON_Parse(t);
        FZ_CHECK(back != NULL);
        cJSON_Delete(back);
        free(t);
        cJSON_Delete(body);
    } else {
        FZ_CHECK(rc == TB_EUSAGE && e.msg[0] && body == NULL);
    }
    for (int i = 0; i < n; i++) (void)tb_vast_query_known_field(words[i]);
    free(s);
    return 0;
}
