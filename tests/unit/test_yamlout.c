/* lib/yamlout: tricky scalars survive a round trip through libyaml's parser with YAML 1.1's
 * resolution of plain scalars (what Kubernetes' and PyYAML's readers do): every string comes back a
 * string with the same bytes, numbers, booleans and null come back as themselves; several documents
 * make one stream; invalid UTF-8 is refused. */
#include "yamlout.h"
#include "alloc.h"
#include "tap.h"
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* YAML 1.1's implicit types for a plain scalar, as PyYAML's resolver has them (enough of them to
 * catch a string that should have been quoted). */
static cJSON *resolve_plain(const char *s)
{
    static const char *const nulls = "^(~|null|Null|NULL|)$";
    static const char *const bools = "^(yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|y|Y|n|N)$";
    static const char *const ints = "^([-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+)$";
    static const char *const floats = "^([-+]?([0-9][0-9_]*)?\\.[0-9_]*([eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN))$";
    static const char *const stamps = "^[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?";
    const char *pats[] = {nulls, bools, ints, floats, stamps};
    for (int i = 0; i < 5; i++) {
        regex_t re;
        if (regcomp(&re, pats[i], REG_EXTENDED | REG_NOSUB)) return NULL;
        int hit = regexec(&re, s, 0, NULL, 0) == 0;
        regfree(&re);
        if (!hit) continue;
        if (i == 0) return cJSON_CreateNull();
        if (i == 1) return cJSON_CreateBool(strchr("yYtTo", s[0]) && strcmp(s, "off") && strcmp(s, "Off") && strcmp(s, "OFF"));
        /* a decimal integer as its number; other numbers and timestamps: anything but a string */
        regex_t dec;
        int isdec = !regcomp(&dec, "^-?(0|[1-9][0-9]*)$", REG_EXTENDED | REG_NOSUB) && regexec(&dec, s, 0, NULL, 0) == 0;
        regfree(&dec);
        return isdec ? cJSON_CreateNumber(strtod(s, NULL)) : cJSON_CreateRaw(s);
    }
    return cJSON_CreateString(s);
}

struct parser { yaml_parser_t p; yaml_event_t ev; int ok; };

static int next(struct parser *ps)
{
    yaml_event_delete(&ps->ev);
    if (!yaml_parser_parse(&ps->p, &ps->ev)) { ps->ok = 0; ps->ev.type = YAML_NO_EVENT; return 0; }
    return 1;
}

/* The node starting at the current event, as cJSON (numbers kept as their text in raw items). */
static cJSON *parse_node(struct parser *ps)
{
    if (ps->ev.type == YAML_SCALAR_EVENT) {
        const char *v = (const char *)ps->ev.data.scalar.value;
        return ps->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? resolve_plain(v) : cJSON_CreateString(v);
    }
    if (ps->ev.type == YAML_SEQUENCE_START_EVENT) {
        cJSON *a = cJSON_CreateArray();
        while (next(ps) && ps->ev.type != YAML_SEQUENCE_END_EVENT) cJSON_AddItemToArray(a, parse_node(ps));
        return a;
    }
    if (ps->ev.type == YAML_MAPPING_START_EVENT) {
        cJSON *o = cJSON_CreateObject();
        while (next(ps) && ps->ev.type != YAML_MAPPING_END_EVENT) {
            char *k = tb_xstrdup((const char *)ps->ev.data.scalar.value);
            next(ps);
            cJSON_AddItemToObject(o, k, parse_node(ps));
            free(k);
        }
        return o;
    }
    ps->ok = 0;
    return cJSON_CreateNull();
}

/* Every document of a YAML stream, as a JSON array. */
static cJSON *parse_stream(const char *y, size_t n)
{
    struct parser ps = {.ok = 1};
    yaml_parser_initialize(&ps.p);
    yaml_parser_set_input_string(&ps.p, (const unsigned char *)y, n);
    cJSON *docs = cJSON_CreateArray();
    while (next(&ps) && ps.ev.type != YAML_STREAM_END_EVENT) {
        if (ps.ev.type != YAML_DOCUMENT_START_EVENT) continue;
        next(&ps);
        cJSON_AddItemToArray(docs, parse_node(&ps));
        next(&ps); /* document end */
    }
    yaml_event_delete(&ps.ev);
    yaml_parser_delete(&ps.p);
    if (!ps.ok) { cJSON_Delete(docs); return NULL; }
    return docs;
}

static const char *const tricky[] = {
    "1", "true", "no", "No", "NO", "yes", "on", "off", "y", "n", "null", "Null", "~", "", "0x10", "0o10", "010", "1e3",
    "1.0", ".5", "-1", "+1", ".inf", "-.inf", ".nan", "1:20", "2026-01-01", "1_000", "<<", "=",
    "a: b", "# x", "x #y", "- item", "? q", "key:", "[a]", "{a: 1}", "*alias", "&anchor", "!tag", "%directive", "@at",
    "`tick", "'single'", "\"double\"", "|", ">", " leading", "trailing ", "  both  ", "tab\there",
    "line one\nline two\n", "no final newline\nsecond", "\nstarts with a newline", "ends with spaces  \nx",
    "  indented first line\nsecond\n", "trailing blank lines\n\n\n", "back\\slash",
    "unicode: \xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80", "nvidia.com/gpu",
    "s3://bucket/runs/r1/framework=pytorch/checkpoints/", "set -eu\ntrainbox cat \"$IN\" | trainbox shard -o out\n",
    "plain words", NULL,
};

static void round_trip(void)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(doc, "list");
    int n = 0;
    for (; tricky[n]; n++) {
        cJSON_AddItemToArray(list, cJSON_CreateString(tricky[n]));
        char k[32];
        snprintf(k, sizeof k, "k%02d", n);
        cJSON_AddStringToObject(doc, k, tricky[n]);
    }
    /* keys that need quoting too */
    cJSON_AddStringToObject(doc, "1", "key one");
    cJSON_AddStringToObject(doc, "yes", "key yes");
    cJSON_AddNumberToObject(doc, "int", 42);
    cJSON_AddNumberToObject(doc, "neg", -7);
    cJSON_AddNumberToObject(doc, "big", 9007199254740991.0);
    cJSON_AddTrueToObject(doc, "t");
    cJSON_AddFalseToObject(doc, "f");
    cJSON_AddNullToObject(doc, "z");
    cJSON_AddArrayToObject(doc, "empty_list");
    cJSON_AddObjectToObject(doc, "empty_map");
    cJSON *second = cJSON_CreateObject();
    cJSON_AddStringToObject(second, "kind", "Job");
    cJSON_AddStringToObject(second, "n", "2");

    const cJSON *docs[] = {doc, second};
    char *y = NULL;
    size_t len = 0;
    tb_err e = {0};
    int r = tb_yaml_render(docs, 2, &y, &len, &e);
    CHECK_INT(r, 0, "two documents render (%s)", e.msg);
    CHECK(y && strlen(y) == len, "the length is the string's");
    CHECK(y && strstr(y, "\n---\n"), "the second document follows a --- line");
    cJSON *back = parse_stream(y, len);
    CHECK(back && cJSON_GetArraySize(back) == 2, "libyaml's parser reads two documents back");
    const cJSON *b0 = cJSON_GetArrayItem(back, 0), *bl = cJSON_GetObjectItemCaseSensitive(b0, "list");
    int bad = 0;
    for (int i = 0; i < n; i++) {
        const cJSON *it = cJSON_GetArrayItem(bl, i);
        char k[32];
        snprintf(k, sizeof k, "k%02d", i);
        const cJSON *kv = cJSON_GetObjectItemCaseSensitive(b0, k);
        int ok = cJSON_IsString(it) && strcmp(it->valuestring, tricky[i]) == 0 && cJSON_IsString(kv) &&
                 strcmp(kv->valuestring, tricky[i]) == 0;
        char *shown = cJSON_PrintUnformatted(cJSON_GetArrayItem(list, i));
        CHECK(ok, "string %s comes back a string, byte for byte (in a list and as a value)", shown);
        free(shown);
        bad += !ok;
    }
    if (bad) printf("# the YAML was:\n%s\n", y);
    CHECK(cJSON_Compare(b0, doc, 1), "the whole first document compares equal to the tree it came from");
    CHECK(cJSON_Compare(cJSON_GetArrayItem(back, 1), second, 1), "the second document too (\"2\" stays a string)");
    CHECK(y && strstr(y, "k56: |"), "a multi-line string is a literal block scalar");
    CHECK(y && strstr(y, "empty_list: []") && strstr(y, "empty_map: {}"), "empty containers are [] and {}");
    CHECK(y && strstr(y, "\xc3\xa9t\xc3\xa9"), "unicode is written as UTF-8, not escaped");
    CHECK(y && strstr(y, "int: 42\n") && strstr(y, "big: 9007199254740991\n"), "integers are plain digits");
    free(y);
    cJSON_Delete(back);
    cJSON_Delete(doc);
    cJSON_Delete(second);
}

static void refusals(void)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "bad", "\xff\xfe not utf-8");
    const cJSON *docs[] = {doc};
    char *y = (char *)"x";
    size_t len = 1;
    tb_err e = {0};
    int r = tb_yaml_render(docs, 1, &y, &len, &e);
    CHECK_INT(r, TB_EDATA, "a string that is not UTF-8 is refused");
    CHECK(y == NULL && len == 0, "and nothing is returned");
    CHECK(strstr(e.msg, "YAML") != NULL, "the message says what failed: %s", e.msg);
    cJSON_Delete(doc);
    CHECK(tb_yaml_plain_safe("hello") && !tb_yaml_plain_safe("TRUE") && !tb_yaml_plain_safe("0") &&
              !tb_yaml_plain_safe("-x") && !tb_yaml_plain_safe(""),
          "tb_yaml_plain_safe: words yes, booleans, digits, signs and empty no");
    r = tb_yaml_render(NULL, 0, &y, &len, &e);
    CHECK(r == 0 && y && len == strlen(y), "an empty stream renders");
    free(y);
}

int main(void)
{
    round_trip();
    refusals();
    return tap_done();
}
