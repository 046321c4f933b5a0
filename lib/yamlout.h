/* yamlout: a cJSON tree written as YAML through libyaml's emitter, so that every scalar reads back
 * as the value it was: strings that a YAML 1.1 or 1.2 reader would take for a number, a boolean or
 * null ("1", "0x10", "no", "on", "null", "~", ".5") are quoted, multi-line strings are literal block
 * scalars (libyaml falls back to a double-quoted scalar where a block one cannot hold the text
 * exactly), and every other quoting decision (": ", " #", leading or trailing spaces, indicators) is
 * libyaml's. Kubernetes reads manifests with YAML 1.1's booleans (yes/no/on/off), hence the care. */
#ifndef TB_YAMLOUT_H
#define TB_YAMLOUT_H
#include "err.h"
#include <cjson/cJSON.h>
#include <stddef.h>

/* A YAML stream of n documents (each after "---" but the first), into a new NUL-terminated string
 * *out of *len bytes. 0, or TB_EDATA when a string is not valid UTF-8 (libyaml refuses it). */
int tb_yaml_render(const cJSON *const *docs, size_t n, char **out, size_t *len, tb_err *e);

/* 1 when s may be written as a plain scalar without a reader resolving it to a non-string: not a
 * number-like, boolean-like (any case) or null-like word. (libyaml still decides the rest.) */
int tb_yaml_plain_safe(const char *s);
#endif
