/* cat_state: cat's resume point (see cat_state.h). */
#include "cat_state.h"
#include "alloc.h"
#include "atomic.h"
#include "hash.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tb_cat_state_list_id(const struct tb_cat_list *l, char out[65])
{
    struct tb_digest *d = tb_digest_new();
    for (size_t i = 0; i < l->n; i++) tb_digest_update(d, l->v[i].name, strlen(l->v[i].name) + 1);
    char md5[33];
    tb_digest_final(d, out, md5);
    tb_digest_free(d);
}

static int get_u64(const cJSON *o, const char *name, uint64_t *out, tb_err *e)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(x) || x->valuedouble < 0 || x->valuedouble > 9007199254740992.0 ||
        x->valuedouble != floor(x->valuedouble))
        return tb_fail(e, TB_EDATA, "\"%s\" is missing or not a count", name);
    *out = (uint64_t)x->valuedouble;
    return 0;
}

int tb_cat_state_parse(const char *text, size_t len, struct tb_cat_state *st, tb_err *e)
{
    memset(st, 0, sizeof *st);
    cJSON *o = cJSON_ParseWithLength(text, len);
    if (!o || !cJSON_IsObject(o)) { cJSON_Delete(o); return tb_fail(e, TB_EDATA, "not a JSON object"); }
    int r = 0;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "version");
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(o, "command");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(o, "list");
    if (!cJSON_IsNumber(v) || v->valuedouble != 1) r = tb_fail(e, TB_EDATA, "not a version 1 state");
    else if (!cJSON_IsString(cmd) || strcmp(cmd->valuestring, "cat") != 0) r = tb_fail(e, TB_EDATA, "not a cat state");
    else if (!cJSON_IsString(list) || strlen(list->valuestring) != 64) r = tb_fail(e, TB_EDATA, "\"list\" is not a sha256");
    if (!r) {
        memcpy(st->list, list->valuestring, 65);
        if ((r = get_u64(o, "inputs", &st->inputs, e)) || (r = get_u64(o, "input", &st->input, e)) ||
            (r = get_u64(o, "offset", &st->offset, e)) || (r = get_u64(o, "samples", &st->samples, e)) ||
            (r = get_u64(o, "seen", &st->seen, e)) || (r = get_u64(o, "emitted", &st->emitted, e)))
            ;
        else if (st->input > st->inputs) r = tb_fail(e, TB_EDATA, "input %llu beyond the %llu inputs",
                                                     (unsigned long long)st->input, (unsigned long long)st->inputs);
        else if (st->emitted > st->seen) r = tb_fail(e, TB_EDATA, "more samples emitted than seen");
    }
    cJSON_Delete(o);
    return r;
}

char *tb_cat_state_format(const struct tb_cat_state *st)
{
    return tb_xasprintf("{\"version\":1,\"command\":\"cat\",\"list\":\"%s\",\"inputs\":%llu,\"input\":%llu,"
                        "\"offset\":%llu,\"samples\":%llu,\"seen\":%llu,\"emitted\":%llu}\n",
                        st->list, (unsigned long long)st->inputs, (unsigned long long)st->input,
                        (unsigned long long)st->offset, (unsigned long long)st->samples, (unsigned long long)st->seen,
                        (unsigned long long)st->emitted);
}

int tb_cat_state_load(const char *path, struct tb_cat_state *st, tb_err *e)
{
    char *text;
    size_t len;
    int r = tb_read_file(path, &text, &len, e);
    if (r == TB_ENOINPUT) { memset(e, 0, sizeof *e); return 0; }
    if (r) return r;
    r = tb_cat_state_parse(text, len, st, e);
    free(text);
    if (r) { tb_err_wrap(e, "state file %s", path); return r; }
    return 1;
}

int tb_cat_state_save(const char *path, const struct tb_cat_state *st, tb_err *e)
{
    char *doc = tb_cat_state_format(st);
    int r = tb_atomic_write(path, doc, strlen(doc), e);
    free(doc);
    return r;
}
