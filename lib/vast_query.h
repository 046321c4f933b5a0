/* vast_query: the official Vast.ai CLI's offer query language ("gpu_name=RTX_4090 num_gpus>=1
 * reliability>0.98 dph<1.0 geolocation in [US,CA] gpu_ram>=24") turned into the JSON body that
 * vast-ai/vast-cli's `search offers` POSTs to /api/v0/bundles/, so users' saved queries work unchanged.
 *
 * The body, as vast.py builds it:
 *   {"verified": {"eq": true}, "external": {"eq": false}, "rentable": {"eq": true},
 *    "rented": {"eq": false},            <- its defaults, each replaced when the query names the field
 *    FIELD: {OP: VALUE, ...}, ...        <- one object per field, in the order first named
 *    "order": [["score", "desc"]], "type": "on-demand", ["limit": N,] "allocated_storage": 5.0}
 * The words are joined with spaces and read as vast.py's parse_query reads them: FIELD OP VALUE with
 * optional spaces around a symbolic operator (< <= == = != >= >, also gt gte lt lte eq neq noteq,
 * in notin nin "not in" between spaces); VALUE is a word, a "quoted string" or a [bracketed, list].
 * The aliases dph -> dph_total, cuda_vers -> cuda_max_good, display_active -> gpu_display_active,
 * dlperf_usd -> dlperf_per_dphtotal, flops_usd -> flops_per_dphtotal. gpu_ram, cpu_ram and
 * gpu_total_ram are given in GB and sent in MB (x1000, as a number), duration in days sent in seconds;
 * driver_version X.Y.Z is sent as the number XXXYYYZZZ. Every other value is sent as vast.py sends
 * it: true/True, false/False as booleans, None/null as null, anything else (numbers too) as a string
 * with '_' turned into a space and '"' stripped; `in`/`notin` lists as lists of such strings. A value
 * of any, * or ? with = drops the field, defaults included ("verified=any").
 * Stricter than vast.py, so mistakes stop here rather than at the server: a value for a numeric field
 * must be a decimal number (or null), one for a boolean field true/false (or null), and the names
 * order, type, limit and allocated_storage are not fields. Unknown field names are sent (vast.py
 * warns about them): tb_vast_query_known_field() lets the caller warn. */
#ifndef TB_VAST_QUERY_H
#define TB_VAST_QUERY_H
#include "err.h"
#include <cjson/cJSON.h>

/* The body for the QUERY words args[0..nargs) (none: the defaults alone) into *out_json (the caller
 * cJSON_Delete()s it), with the default order (score descending), "type": "on-demand" and
 * "allocated_storage": 5.0. A bad query is 64 with a message naming the comparison it stopped at. */
int tb_vast_query_parse(const char *const *args, int nargs, cJSON **out_json, tb_err *e);
/* Replace q's "order" with FIELD_SPEC, vast.py's --order: comma-separated fields, each ascending, or
 * descending with a '-' suffix ("num_gpus,dph-"; a '+' suffix is ascending), aliases applied; an empty
 * spec sends an empty order. A field name that is not [A-Za-z0-9_]+ is 64. */
int tb_vast_query_order(cJSON *q, const char *field_spec, tb_err *e);
/* Set q's "limit" to n (n > 0), before "allocated_storage" as vast.py places it; n <= 0 removes it. */
void tb_vast_query_limit(cJSON *q, long n);
/* Set q's "type": "on-demand", "reserved" or "bid" ("interruptible" is "bid", as vast.py maps it);
 * anything else is 64. */
int tb_vast_query_type(cJSON *q, const char *type, tb_err *e);
/* Set q's "allocated_storage" (GiB priced into dph_total; vast.py's --storage, default 5.0); a
 * negative or non-finite value is 64. */
int tb_vast_query_storage(cJSON *q, double gib, tb_err *e);
/* 1 when name (after aliasing) is one of vast.py's offer fields, or one of the body's own keys. */
int tb_vast_query_known_field(const char *name);
#endif
