/* fuzz_state: the resume files a re-run trusts: shard's checkpoint (tb_shardstate_parse, what
 * tb_shardstate_load reads) and cat's --state (tb_cat_state_parse; a parsed state formats to a
 * document that parses to the same values). The first byte picks which. */
/* -max_len for `make fuzz` (scripts/run-fuzz.sh reads this line) */
#define FUZZ_MAX_LEN 4096
#include "cat_state.h"
#include "fuzz.h"
#include "shard_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned which = fz_byte(&data, &size) & 1;
    const char *text = (const char *)data;
    tb_err e = {0};
    if (which == 0) {
        struct tb_shardstate s;
        if (tb_shardstate_parse(text, size, "fuzz-input", &s, &e) == 0) {
            FZ_CHECK(strlen(s.options) <= 64 && strlen(s.first_line) <= 64);
            for (size_t i = 0; i < s.nrec; i++) FZ_CHECK(s.records[i] != NULL);
            tb_shardstate_free(&s);
        } else {
            FZ_CHECK(e.code == TB_EDATA);
        }
        return 0;
    }
    struct tb_cat_state st, back;
    if (tb_cat_state_parse(text, size, &st, &e) == 0) {
        FZ_CHECK(st.input <= st.inputs && st.emitted <= st.seen && strlen(st.list) == 64);
        char *doc = tb_cat_state_format(&st);
        FZ_CHECK(tb_cat_state_parse(doc, strlen(doc), &back, &e) == 0);
        FZ_CHECK(memcmp(&st, &back, sizeof st) == 0);
        free(doc);
    } else {
        FZ_CHECK(e.code == TB_EDATA);
    }
    return 0;
}
