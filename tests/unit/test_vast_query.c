/* lib/vast_query: QUERY words turned into the body vast-ai/vast-cli's `search offers` POSTs, compared
 * with what vast.py sends for the same words. The expected bodies were produced once by running vast.py's
 * own parse_query and search__offers body code (taken from its source, no network) and pasted here;
 * they are compared after one cJSON round trip (so 24000.0 and 24000 are the same number, and the
 * keys' order counts). Then bad queries, refused with 64 and a message naming the comparison. */
#include "vast_query.h"
#include "tap.h"
#include <stdlib.h>

struct qcase {
    const char *words[12];
    int n;
    const char *order; /* --order, NULL: the default */
    long limit;        /* --limit, 0: none */
    const char *want;  /* vast.py's body */
};

static const struct qcase cases[] = {
    {{NULL}, 0, NULL, 0,
     "{\"verified\":{\"eq\":true},\"external\":{\"eq\":false},\"rentable\":{\"eq\":true},\"rented\":{\"eq\":false},\"order\":[[\"score\",\"desc\"]],\"type\":\"on-demand\",\"allocated_storage\":5.0}"},
    {{"gpu_name=RTX_4090", "num_gpus>=1", "reliability>0.98", "dph<1.0", "geolocation", "in", "[US,CA]", "gpu_ram>=24"}, 8, NULL, 0,
     "{\"verified\":{\"eq\":true},\"external\":{\"eq\":false},\"rentable\":{\"eq\":true},\"rented\":{\"eq\":false},\"gpu_name\":{\"eq\":\"RTX 4090\"},\"num_gpus\":{\"gte\":\"1\"},\"reliability\":{\"gt\":\"0.98\"},\"dph_total\":{\"lt\":\"1.0\"},\"geolocation\":{\"in\":[\"US\",\"CA\"]},\"gpu_ram\":{\"gte\":24000.0},\"order\":[[\"score\",\"desc\"]],\"type\":\"on-demand\",\"allocated_storage\":5.0}"},
    {{"gpu_name=RTX_4090 num_gpus>=1 reliability>0.98 dph<1.0 geolocation in [US,CA] gpu_ram>=24"}, 1, NULL, 3,
     "{\"verified\":{\"eq\":true},\"external\":{\"eq\":false},\"rentable\":{\"eq\":true},\"rented\":{\"eq\":false},\"gpu_name\":{\"eq\":\"RTX 4090\"},\"num_gpus\":{\"gte\":\"1\"},\"reliability\":{\"gt\":\"0.98\"},\"dph_total\":{\"lt\":\"1.0\"},\"geolocation\":{\"in\":[\"US\",\"CA\"]},\"gpu_ram\":{\"gte\":24000.0},\"order\":[[\"score\",\"desc\"]],\"type\":\"on-demand\",\"limit\":3,\"allocated_storage\":5.0}"},
    {{"reliability > 0.98 num_gpus=1 gpu_name=RTX_3090 rented=False"}, 1, NULL, 0,
     "{\"verified\":{\"eq\":true},\"external\":{\"eq\":false},\"rentable\":{\"eq\":true},\"rented\":{\"eq\":false},\"reliability\":{\"gt\":\"0.98\"},\"num_gpus\":{\"eq\":\"1\"},\"gpu_name\":{\"eq\":\"RTX 3090\"},\"order\":[[\"score\",\"desc\"]],\"type\":\"on-demand\",\"allocated_storage\":5.0}"},
    {{"compute_cap > 610 total_flops > 5 datacenter=True"}, 1, NULL, 0,
     "{\"verified\":{\"eq\":true},\"external\":{\"eq\":false},\"rentable\":{\"eq\":true},\"rented\":{\"eq\":false},\"compute_cap\":{\"gt\":\"610\"},\"total_flops\":{\"gt\":\"5\"},\"datacenter\":{\"eq\":true},\"order\":[[\"score\",\"desc\"]],\"type\":\"on-demand\",\"allocated_storage\":5.0}"},
    {{"reliability>0.99 num_gpus=4 geolocation in [TW,SE]"}, 1, NULL, 0,
     "{\"verified\":{\"eq\":true},\"external\":{\"eq\":false},\"rentable\":{\"eq\":true},\"rented\":{\"eq\":false},\"reliability\":{\"gt\":\"0.99\"},\"num_gpus\":{\"eq\":\"4\"},\"geolocation\":{\"in\":[\"TW\",\"SE\"]},\"order\":[[\"score\",\"desc\"]],\"type\":\"on-demand\",\"allocated_storage\":5.0}"},
    {{"reliability>0.99 gpu_name in [\"RTX 4090\", \"RTX 3090\"] geolocation notin [CN,VN]"}, 1, NULL, 0,
     "{\"verified\":{\"eq\":true},\"external\":{\"eq\":false},\"rentable\":{\"eq\":true},\"rented\":{\"eq\":false},\"reliability\":{\"gt\":\"0.99\"},\"gpu_name\":{\"in\":[\"RTX 4090\",\"RTX 3090\"]},\"geolocation\":{\"notin\":[\"CN\",\"VN\"]},\"order\":[[\"score\",\"desc\"]],\"type\":\"on-demand\",\"allocated_storage\":5.0}"},
    {{"disk_space>146 duration>24 gpu_ram>10 cuda_vers>=12.1 direct_port_count>=2 driver_version >= 535.86.05"}, 1, NULL, 0,
     "{\"verified\":{\"eq\":true},\"external\":{\"eq\":false},\"rentable\":{\"eq\":true},\"rented\":{\"eq\":false},\"disk_space\":{\"gt\":\"146\"},\"duration\":{\"gt\":2073600.0},\"gpu_ram\":{\"gt\":10000.0},\"cuda_max_good\":{\"gte\":\"12.1\"},\"direct_port_count\":{\"gte\":\"2\"},\"driver_version\":{\"gte\":535086005},\"order\":[[\"score\",\"desc\"]],\"type\":\"on-demand\",\"allocated_storage\":5.0}"},
    {{"reliability > 0.99  num_gpus>=4 verified=False rented=any"}, 1, "num_gpus-", 0,
     "{\"verified\":{\"eq\":false},\"external\":{\"eq\":false},\"rentable\":{\"eq\":true},\"reliability\":{\"gt\":\"0.99\"},\"num_gpus\":{\"gte\":\"4\"},\"order\":[[\"num_gpus\",\"desc\"]],\"type\":\"on-demand\",\"allocated_storage\":5.0}"},
    {{"cpu_arch=arm64"}, 1, NULL, 5,
     "{\"verified\":{\"eq\":true},\"external\":{\"eq\":false},\"rentable\":{\"eq\":true},\"rented\":{\"eq\":false},\"cpu_arch\":{\"eq\":\"arm64\"},\"order\":[[\"score\",\"desc\"]],\"type\":\"on-demand\",\"limit\":5,\"allocated_storage\":5.0}"},
    {{"verified=any", "external=true", "dph_total<=2", "dph>0.1", "cpu_ram>=1.5"}, 5, "dph+,num_gpus-,,reliability", 0,
     "{\"external\":{\"eq\":true},\"rentable\":{\"eq\":true},\"rented\":{\"eq\":false},\"dph_total\":{\"lte\":\"2\",\"gt\":\"0.1\"},\"cpu_ram\":{\"gte\":1500.0},\"order\":[[\"dph_total\",\"asc\"],[\"num_gpus\",\"desc\"],[\"reliability\",\"asc\"]],\"type\":\"on-demand\",\"allocated_storage\":5.0}"},
    {{"num_gpus!=2", "gpu_name", "notin", "[RTX_A6000,A100_SXM4]", "static_ip=None", "geolocation=\"US\""}, 6, "", 0,
     "{\"verified\":{\"eq\":true},\"external\":{\"eq\":false},\"rentable\":{\"eq\":true},\"rented\":{\"eq\":false},\"num_gpus\":{\"neq\":\"2\"},\"gpu_name\":{\"notin\":[\"RTX A6000\",\"A100 SXM4\"]},\"static_ip\":{\"eq\":null},\"geolocation\":{\"eq\":\"US\"},\"order\":[],\"type\":\"on-demand\",\"allocated_storage\":5.0}"},
    {{"gpu_total_ram", "gt", "80", "inet_down", "gte", "500", "num_gpus", "not in", "[3,5]", "dph lte 0.5"}, 10, NULL, 0,
     "{\"verified\":{\"eq\":true},\"external\":{\"eq\":false},\"rentable\":{\"eq\":true},\"rented\":{\"eq\":false},\"gpu_total_ram\":{\"gt\":80000.0},\"inet_down\":{\"gte\":\"500\"},\"num_gpus\":{\"notin\":[\"3\",\"5\"]},\"dph_total\":{\"lte\":\"0.5\"},\"order\":[[\"score\",\"desc\"]],\"type\":\"on-demand\",\"allocated_storage\":5.0}"},
    {{"num_gpus==8 num_gpus<=8 gpu_name=H100_SXM"}, 1, NULL, 1,
     "{\"verified\":{\"eq\":true},\"external\":{\"eq\":false},\"rentable\":{\"eq\":true},\"rented\":{\"eq\":false},\"num_gpus\":{\"eq\":\"8\",\"lte\":\"8\"},\"gpu_name\":{\"eq\":\"H100 SXM\"},\"order\":[[\"score\",\"desc\"]],\"type\":\"on-demand\",\"limit\":1,\"allocated_storage\":5.0}"},
    {{"dph=*", "num_gpus", "nin", "[1]", "cuda_vers", "noteq", "11.8"}, 7, NULL, 0,
     "{\"verified\":{\"eq\":true},\"external\":{\"eq\":false},\"rentable\":{\"eq\":true},\"rented\":{\"eq\":false},\"num_gpus\":{\"notin\":[\"1\"]},\"cuda_max_good\":{\"neq\":\"11.8\"},\"order\":[[\"score\",\"desc\"]],\"type\":\"on-demand\",\"allocated_storage\":5.0}"},
    {{"gpu_ram>1.1", "duration>=0.5", "cpu_ram<0.3", "flops_usd>2.5", "dlperf_usd>=1e1"}, 5, NULL, 0,
     "{\"verified\":{\"eq\":true},\"external\":{\"eq\":false},\"rentable\":{\"eq\":true},\"rented\":{\"eq\":false},\"gpu_ram\":{\"gt\":1100.0},\"duration\":{\"gte\":43200.0},\"cpu_ram\":{\"lt\":300.0},\"flops_per_dphtotal\":{\"gt\":\"2.5\"},\"dlperf_per_dphtotal\":{\"gte\":\"1e1\"},\"order\":[[\"score\",\"desc\"]],\"type\":\"on-demand\",\"allocated_storage\":5.0}"},
    {{"num_gpus in 1,2,4", "ubuntu_version=22.04", "driver_version>=550"}, 3, NULL, 0,
     "{\"verified\":{\"eq\":true},\"external\":{\"eq\":false},\"rentable\":{\"eq\":true},\"rented\":{\"eq\":false},\"num_gpus\":{\"in\":[\"1\",\"2\",\"4\"]},\"ubuntu_version\":{\"eq\":\"22.04\"},\"driver_version\":{\"gte\":\"550\"},\"order\":[[\"score\",\"desc\"]],\"type\":\"on-demand\",\"allocated_storage\":5.0}"},
    {{"  verified=true   gpu_name=\"RTX_4090\"  num_gpus > 0 "}, 1, "-score,dph_total", 0,
     "{\"verified\":{\"eq\":true},\"external\":{\"eq\":false},\"rentable\":{\"eq\":true},\"rented\":{\"eq\":false},\"gpu_name\":{\"eq\":\"RTX 4090\"},\"num_gpus\":{\"gt\":\"0\"},\"order\":[[\"score\",\"desc\"],[\"dph_total\",\"asc\"]],\"type\":\"on-demand\",\"allocated_storage\":5.0}"},
    {{"foo_bar=baz_qux"}, 1, NULL, 0,
     "{\"verified\":{\"eq\":true},\"external\":{\"eq\":false},\"rentable\":{\"eq\":true},\"rented\":{\"eq\":false},\"foo_bar\":{\"eq\":\"baz qux\"},\"order\":[[\"score\",\"desc\"]],\"type\":\"on-demand\",\"allocated_storage\":5.0}"},
};

/* s printed back by cJSON (NULL when it is not JSON) */
static char *norm(const char *s)
{
    cJSON *j = cJSON_Parse(s);
    char *out = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    return out;
}

static char *body_of(const char *const *words, int n, const char *order, long limit, tb_err *e, int *rc)
{
    cJSON *q = NULL;
    *rc = tb_vast_query_parse(words, n, &q, e);
    if (*rc) return NULL;
    if (order) *rc = tb_vast_query_order(q, order, e);
    if (!*rc && limit) tb_vast_query_limit(q, limit);
    char *out = *rc ? NULL : cJSON_PrintUnformatted(q);
    cJSON_Delete(q);
    return out;
}

static void check_bad(const char *const *words, int n, const char *names)
{
    tb_err e = {0};
    cJSON *q = (cJSON *)&e; /* must come back NULL */
    int rc = tb_vast_query_parse(words, n, &q, &e);
    CHECK(rc == TB_EUSAGE && e.code == TB_EUSAGE && q == NULL && strstr(e.msg, names) != NULL,
          "'%s'%s refused with 64 naming '%s' (%s)", words[0], n > 1 ? " ..." : "", names, e.msg);
}

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const struct qcase *c = &cases[i];
        tb_err e = {0};
        int rc;
        char *got = body_of(c->words, c->n, c->order, c->limit, &e, &rc);
        char *want = norm(c->want);
        CHECK(want != NULL, "case %zu: the expected body is JSON", i);
        CHECK_STR(got, want, "case %zu: '%s'%s is vast.py's body (%s)", i, c->n ? c->words[0] : "",
                  c->n > 1 ? " ..." : "", rc ? e.msg : "ok");
        free(got);
        free(want);
    }

    /* the example as the words a shell passes: '>' and '<' quoted, "in" and its list apart */
    {
        const char *w[] = {"gpu_name=RTX_4090", "num_gpus>=1", "reliability>0.98", "dph<1.0", "geolocation",
                           "in", "[US,CA]", "gpu_ram>=24"};
        cJSON *q = NULL;
        tb_err e = {0};
        CHECK_INT(tb_vast_query_parse(w, 8, &q, &e), 0, "the issue's example parses (%s)", e.msg);
        const cJSON *g = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(q, "gpu_ram"), "gte");
        CHECK(cJSON_IsNumber(g) && g->valuedouble == 24000.0, "gpu_ram 24 GB is sent as the number 24000 MB");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(q, "dph_total"), "lt");
        CHECK(cJSON_IsString(d) && strcmp(d->valuestring, "1.0") == 0, "dph is dph_total, its number the string \"1.0\"");
        CHECK(cJSON_GetObjectItemCaseSensitive(q, "dph") == NULL, "no 'dph' key is sent");
        /* --type, --storage, --limit 0 */
        CHECK_INT(tb_vast_query_type(q, "interruptible", &e), 0, "type interruptible accepted");
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(q, "type")), "bid", "interruptible is sent as bid");
        CHECK_INT(tb_vast_query_type(q, "reserved", &e), 0, "type reserved accepted");
        CHECK_INT(tb_vast_query_type(q, "spot", &e), TB_EUSAGE, "type spot refused (%s)", e.msg);
        CHECK_INT(tb_vast_query_storage(q, 40.0, &e), 0, "storage 40 GiB accepted");
        CHECK_INT(tb_vast_query_storage(q, -1.0, &e), TB_EUSAGE, "storage -1 refused");
        tb_vast_query_limit(q, 7);
        tb_vast_query_limit(q, 9);
        char *s = cJSON_PrintUnformatted(q);
        const char *tail = "\"order\":[[\"score\",\"desc\"]],\"type\":\"reserved\",\"limit\":9,\"allocated_storage\":40}";
        CHECK(s && strlen(s) > strlen(tail) && strcmp(s + strlen(s) - strlen(tail), tail) == 0,
              "type replaced in place, one limit before allocated_storage (%s)", s);
        free(s);
        tb_vast_query_limit(q, 0);
        CHECK(cJSON_GetObjectItemCaseSensitive(q, "limit") == NULL, "limit 0 sends no limit");
        CHECK_INT(tb_vast_query_order(q, "score-,dph!", &e), TB_EUSAGE, "order field 'dph!' refused (%s)", e.msg);
        CHECK(strstr(e.msg, "dph!") != NULL, "the message names the field");
        CHECK_INT(tb_vast_query_order(q, "-", &e), TB_EUSAGE, "an order of '-' alone refused");
        cJSON_Delete(q);
    }

    CHECK(tb_vast_query_known_field("dph") && tb_vast_query_known_field("gpu_ram") &&
          tb_vast_query_known_field("cuda_vers") && tb_vast_query_known_field("order"),
          "known fields: aliases, offer fields, the body's keys");
    CHECK(!tb_vast_query_known_field("foo_bar") && !tb_vast_query_known_field("reliability2"),
          "unknown fields: foo_bar, reliability2 (vast.py leaves it out)");

    /* bad queries: 64, nothing returned, the message naming the comparison */
    static const struct { const char *q, *names; } bad[] = {
        {"num_gpus=>1", "num_gpus=>1"},            /* an operator vast.py does not know */
        {"num_gpus~1", "num_gpus~1"},              /* no operator */
        {"num_gpus", "num_gpus"},                  /* a field alone */
        {"=5", "=5"},                              /* no field */
        {"num_gpus>=1 >=2", ">=2"},                /* no field, later */
        {"num_gpus>=", "num_gpus>="},              /* no value */
        {"num_gpus>=abc", "abc"},                  /* not a number (vast.py would send "abc") */
        {"gpu_ram>=24GB", "24GB"},                 /* not a number (vast.py: float() fails) */
        {"dph<inf", "inf"},                        /* not a JSON number */
        {"cpu_ram>1e999", "1e999"},                /* beyond a double once in MB */
        {"num_gpus in [1,x]", "x"},                /* a list item not a number */
        {"gpu_ram in [24,48]", "gpu_ram in [24,48]"}, /* GB fields take one number (vast.py crashes) */
        {"num_gpus>any", "num_gpus>any"},          /* a wildcard only with = */
        {"geolocation in [,]", "geolocation in [,]"}, /* an empty list */
        {"verified=yes", "yes"},                   /* not a boolean */
        {"driver_version>=5.35", "5.35"},          /* not X.Y.Z */
        {"driver_version in [535.86.05]", "driver_version"},
        {"limit=5", "limit=5"},                    /* the body's own key */
        {"num_gpus>=1 reliability>0.9 gpu_name==", "gpu_name=="},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *w[] = {bad[i].q};
        check_bad(w, 1, bad[i].names);
    }
    {
        const char *w[] = {"gpu_name=RTX_4090", "=1"};
        check_bad(w, 2, "'=1'");
        const char *w2[] = {"num_gpus", ">=", "x1"};
        check_bad(w2, 3, "num_gpus >= x1");
    }
    return tap_done();
}
