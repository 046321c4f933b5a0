/* fuzz_vast: what trainbox reads from Vast.ai's answers (cJSON, then lib/vast's pure pieces): ids
 * (tb_vast_id, tb_vast_new_contract, never past long long), numbers (tb_vast_num, tb_vast_age_s),
 * the balance (tb_vast_funds), statuses (tb_vast_state_of), the offer summary `vast offers` prints,
 * and the redaction of every answer before it is shown (tb_vast_redact: no member whose name says
 * secret keeps a string or number value). Answers are walked as search, list, show and create see them. */
/* -max_len for `make fuzz` (scripts/run-fuzz.sh reads this line) */
#define FUZZ_MAX_LEN 8192
#include "fuzz.h"
#include "vast.h"

/* After tb_vast_redact: a secret-named string or number member is "<redacted>". */
static void check_redacted(const cJSON *x)
{
    for (const cJSON *c = x ? x->child : NULL; c; c = c->next) {
        if (cJSON_IsObject(x) && c->string && tb_vast_secret_name(c->string) && strcmp(c->string, "env") &&
            strcmp(c->string, "extra_env"))
            FZ_CHECK(!cJSON_IsNumber(c) && (!cJSON_IsString(c) || strcmp(c->valuestring, "<redacted>") == 0));
        if (!(cJSON_IsObject(x) && c->string && (!strcmp(c->string, "env") || !strcmp(c->string, "extra_env"))))
            check_redacted(c);
    }
}

static void instance(const cJSON *it)
{
    (void)tb_vast_id(it);
    (void)tb_vast_age_s(it, 1767225600);
    (void)tb_vast_num(it, "dph_total");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(it, "actual_status");
    (void)tb_vast_state_of(cJSON_IsString(st) ? st->valuestring : NULL);
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(it, "label");
    if (cJSON_IsString(l)) (void)strlen(l->valuestring);
    cJSON *sum = tb_vast_offer_summary(it);
    char *t = cJSON_PrintUnformatted(sum);
    free(t);
    cJSON_Delete(sum);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    if (!j) return 0;
    long long id = tb_vast_new_contract(j);
    FZ_CHECK(id >= -1);
    double usd;
    (void)tb_vast_funds(j, &usd);
    static const char *const lists[] = {"offers", "instances"};
    for (int k = 0; k < 2; k++) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, lists[k]), *it;
        if (cJSON_IsObject(arr)) instance(arr);
        if (cJSON_IsArray(arr)) cJSON_ArrayForEach(it, arr) instance(it);
    }
    instance(j);
    tb_vast_redact(j);
    check_redacted(j);
    char *t = cJSON_PrintUnformatted(j);
    free(t);
    cJSON_Delete(j);
    return 0;
}
