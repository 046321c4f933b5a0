/* shardstate: the resume checkpoint of shard, as one small JSON file. */
#include "shard_state.h"
#include "alloc.h"
#include "atomic.h"
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define STATE_FORMAT "trainbox.shard.state"

void tb_shardstate_init(struct tb_shardstate *s) { memset(s, 0, sizeof *s); }

void tb_shardstate_free(struct tb_shardstate *s)
{
    for (size_t i = 0; i < s->nrec; i++) free(s->records[i]);
    free(s->records);
    free(s->last_key);
    memset(s, 0, sizeof *s);
}

int tb_shardstate_add_record(struct tb_shardstate *s, const char *line, tb_err *e)
{
    (void)e; /* no error is possible: out of memory is lib/alloc's */
    tb_xgrow_n(&s->records, &s->caprec, s->nrec + 1, sizeof *s->records, 64);
    s->records[s->nrec++] = tb_xstrdup(line);
    return 0;
}

int tb_shardstate_set_last_key(struct tb_shardstate *s, const char *key, size_t n, tb_err *e)
{
    (void)e;
    char *c = tb_xstrndup(key, n);
    free(s->last_key);
    s->last_key = c;
    return 0;
}

static int get_u64(const cJSON *o, const char *name, uint64_t *v)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    /* 2^64 and beyond (or NaN) would be undefined as a uint64_t */
    if (!cJSON_IsNumber(x) || !(x->valuedouble >= 0 && x->valuedouble < 18446744073709551616.0)) return -1;
    *v = (uint64_t)x->valuedouble;
    return 0;
}

static int get_hex(const cJSON *o, const char *name, char out[65])
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsString(x) || strlen(x->valuestring) > 64) return -1;
    strcpy(out, x->valuestring);
    return 0;
}

int tb_shardstate_load(const char *path, struct tb_shardstate *s, int *found, tb_err *e)
{
    tb_shardstate_init(s);
    *found = 0;
    char *text;
    size_t len;
    int r = tb_read_file(path, &text, &len, e);
    if (r == TB_ENOINPUT) return 0;
    if (r) return r;
    *found = 1;
    r = tb_shardstate_parse(text, len, path, s, e);
    free(text);
    return r;
}

int tb_shardstate_parse(const char *text, size_t len, const char *name, struct tb_shardstate *s, tb_err *e)
{
    tb_shardstate_init(s);
    cJSON *o = cJSON_ParseWithLength(text, len);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "format");
    const cJSON *recs = cJSON_GetObjectItemCaseSensitive(o, "records");
    const cJSON *lk = cJSON_GetObjectItemCaseSensitive(o, "last_key");
    int bad = !o || !cJSON_IsString(f) || strcmp(f->valuestring, STATE_FORMAT) != 0 || !cJSON_IsArray(recs) ||
              get_hex(o, "options", s->options) || get_hex(o, "first_line", s->first_line) ||
              get_u64(o, "lines", &s->lines) || get_u64(o, "bytes", &s->bytes) || get_u64(o, "samples", &s->samples) ||
              get_u64(o, "invalid", &s->invalid) || get_u64(o, "rejects_bytes", &s->rejects_bytes) ||
              get_u64(o, "next_shard", &s->next_shard) || get_u64(o, "last_line", &s->last_line) ||
              !(cJSON_IsString(lk) || cJSON_IsNull(lk));
    if (!bad && cJSON_GetObjectItemCaseSensitive(o, "dupes") && get_u64(o, "dupes", &s->dupes)) bad = 1;
    if (!bad && cJSON_IsString(lk) && tb_shardstate_set_last_key(s, lk->valuestring, strlen(lk->valuestring), e)) bad = 2;
    const cJSON *it;
    if (!bad) {
        cJSON_ArrayForEach(it, recs) {
            if (!cJSON_IsString(it) || tb_shardstate_add_record(s, it->valuestring, e)) { bad = 1; break; }
        }
    }
    cJSON_Delete(o);
    if (bad) {
        tb_shardstate_free(s);
        return tb_fail(e, TB_EDATA, "state file %s is not a shard state (remove it or use --restart)", name);
    }
    return 0;
}

int tb_shardstate_save(const char *path, const struct tb_shardstate *s, tb_err *e)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *recs = cJSON_CreateArray();
    if (!o || !recs) tb_oom(sizeof(cJSON));
    cJSON_AddStringToObject(o, "format", STATE_FORMAT);
    cJSON_AddNumberToObject(o, "version", 1);
    cJSON_AddStringToObject(o, "options", s->options);
    cJSON_AddStringToObject(o, "first_line", s->first_line);
    cJSON_AddNumberToObject(o, "lines", (double)s->lines);
    cJSON_AddNumberToObject(o, "bytes", (double)s->bytes);
    cJSON_AddNumberToObject(o, "samples", (double)s->samples);
    cJSON_AddNumberToObject(o, "invalid", (double)s->invalid);
    cJSON_AddNumberToObject(o, "dupes", (double)s->dupes);
    cJSON_AddNumberToObject(o, "rejects_bytes", (double)s->rejects_bytes);
    cJSON_AddNumberToObject(o, "next_shard", (double)s->next_shard);
    cJSON_AddNumberToObject(o, "last_line", (double)s->last_line);
    if (s->last_key) cJSON_AddStringToObject(o, "last_key", s->last_key);
    else cJSON_AddNullToObject(o, "last_key");
    for (size_t i = 0; i < s->nrec; i++) cJSON_AddItemToArray(recs, cJSON_CreateString(s->records[i]));
    cJSON_AddItemToObject(o, "records", recs);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text) tb_oom(0);
    size_t n = strlen(text);
    char *withnl = tb_xrealloc(text, n + 2);
    withnl[n] = '\n';
    withnl[n + 1] = 0;
    int r = tb_atomic_write(path, withnl, n + 1, e);
    free(withnl);
    if (r) return tb_err_wrap(e, "cannot save state");
    return 0;
}
