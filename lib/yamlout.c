/* yamlout: cJSON -> libyaml events -> a YAML stream in memory (see yamlout.h for the quoting rules). */
#include "yamlout.h"
#include "alloc.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

int tb_yaml_plain_safe(const char *s)
{
    /* YAML 1.1's bool and null words (1.2's are a subset), compared without case: "tRuE" is a string
     * in both, but quoting it costs nothing and no reader's resolver can get it wrong */
    static const char *const words[] = {"y", "n", "yes", "no", "true", "false", "on", "off", "null", "~", "<<", "=", NULL};
    if (!*s) return 0;
    /* every number form (ints in any base, floats, .inf, .nan, sexagesimal 1:20, timestamps) starts
     * with a digit, a sign or a dot */
    if ((*s >= '0' && *s <= '9') || *s == '+' || *s == '-' || *s == '.') return 0;
    for (int i = 0; words[i]; i++)
        if (strcasecmp(s, words[i]) == 0) return 0;
    return 1;
}

struct buf { char *p; size_t len, cap; };

static int write_handler(void *data, unsigned char *bytes, size_t size)
{
    struct buf *b = data;
    tb_xgrow(&b->p, &b->cap, b->len + size + 1);
    memcpy(b->p + b->len, bytes, size);
    b->len += size;
    b->p[b->len] = 0;
    return 1;
}

struct em {
    yaml_emitter_t y;
    tb_err *e;
};

static int emit(struct em *m, yaml_event_t *ev, const char *what)
{
    if (yaml_emitter_emit(&m->y, ev)) return 0;
    /* the only failure our trees can cause: a string that is not UTF-8 */
    return tb_fail(m->e, TB_EDATA, "cannot write %s as YAML: %s", what, m->y.problem ? m->y.problem : "libyaml refused it");
}

static int scalar(struct em *m, const char *s, yaml_scalar_style_t style)
{
    yaml_event_t ev;
    int plain = style == YAML_PLAIN_SCALAR_STYLE || style == YAML_ANY_SCALAR_STYLE;
    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), plain, !plain, style))
        return tb_fail(m->e, TB_EDATA, "cannot write a string as YAML: not valid UTF-8");
    return emit(m, &ev, "a scalar");
}

static int string(struct em *m, const char *s)
{
    if (strchr(s, '\n')) return scalar(m, s, YAML_LITERAL_SCALAR_STYLE);
    return scalar(m, s, tb_yaml_plain_safe(s) ? YAML_ANY_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

static int node(struct em *m, const cJSON *j)
{
    yaml_event_t ev;
    int r;
    if (cJSON_IsString(j)) return string(m, j->valuestring);
    if (cJSON_IsBool(j)) return scalar(m, cJSON_IsTrue(j) ? "true" : "false", YAML_PLAIN_SCALAR_STYLE);
    if (cJSON_IsNull(j)) return scalar(m, "null", YAML_PLAIN_SCALAR_STYLE);
    if (cJSON_IsNumber(j)) {
        char t[64];
        double d = j->valuedouble;
        if (!isfinite(d)) snprintf(t, sizeof t, "%s", isnan(d) ? ".nan" : d > 0 ? ".inf" : "-.inf");
        else if (d == floor(d) && fabs(d) < 9007199254740992.0) snprintf(t, sizeof t, "%.0f", d);
        else snprintf(t, sizeof t, "%.17g", d);
        return scalar(m, t, YAML_PLAIN_SCALAR_STYLE);
    }
    if (cJSON_IsArray(j)) {
        yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
        if ((r = emit(m, &ev, "a sequence"))) return r;
        for (const cJSON *c = j->child; c; c = c->next)
            if ((r = node(m, c))) return r;
        yaml_sequence_end_event_initialize(&ev);
        return emit(m, &ev, "a sequence");
    }
    if (cJSON_IsObject(j)) {
        yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
        if ((r = emit(m, &ev, "a mapping"))) return r;
        for (const cJSON *c = j->child; c; c = c->next)
            if ((r = string(m, c->string)) || (r = node(m, c))) return r;
        yaml_mapping_end_event_initialize(&ev);
        return emit(m, &ev, "a mapping");
    }
    return tb_fail(m->e, TB_ESOFTWARE, "cannot write a JSON value of type %d as YAML", j->type);
}

int tb_yaml_render(const cJSON *const *docs, size_t n, char **out, size_t *len, tb_err *e)
{
    struct buf b = {0};
    struct em m = {.e = e};
    yaml_event_t ev;
    int r = 0;
    *out = NULL;
    *len = 0;
    if (!yaml_emitter_initialize(&m.y)) tb_oom(sizeof m.y);
    yaml_emitter_set_output(&m.y, write_handler, &b);
    yaml_emitter_set_unicode(&m.y, 1);  /* UTF-8 as it is, not \u escapes */
    yaml_emitter_set_width(&m.y, -1);   /* no folding of long lines: a pipeline stays as written */
    yaml_emitter_set_indent(&m.y, 2);
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    r = emit(&m, &ev, "the stream");
    for (size_t i = 0; !r && i < n; i++) {
        yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, i == 0);
        if ((r = emit(&m, &ev, "a document"))) break;
        if ((r = node(&m, docs[i]))) break;
        yaml_document_end_event_initialize(&ev, 1);
        r = emit(&m, &ev, "a document");
    }
    if (!r) {
        yaml_stream_end_event_initialize(&ev);
        r = emit(&m, &ev, "the stream");
    }
    if (!r && !yaml_emitter_flush(&m.y)) r = tb_fail(e, TB_ESOFTWARE, "cannot write YAML: libyaml's flush failed");
    yaml_emitter_delete(&m.y);
    if (r) { free(b.p); return r; }
    if (!b.p) write_handler(&b, (unsigned char *)"", 0);
    *out = b.p;
    *len = b.len;
    return 0;
}
