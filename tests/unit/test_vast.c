/* lib/vast's pure parts: labels, which variables an instance gets, secret names and redaction of API
 * records, status classes, funds and age, the offer summary, shell quoting and the onstart wrapper
 * (decoded back to the script it carries). */
#include "alloc.h"
#include "base64.h"
#include "tap.h"
#include "vast.h"
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const char *fake_env(const char *name, void *ud)
{
    (void)ud;
    static const char *const kv[][2] = {{"AWS_ACCESS_KEY_ID", "AKID"}, {"AWS_SECRET_ACCESS_KEY", "s3cret"}, {"HF_TOKEN", "hf_x"},
                                        {"VAST_API_KEY", "vast-key"}, {"R2_ACCOUNT_ID", ""}, {"HOME", "/root"},
                                        {"AZURE_STORAGE_KEY", "azkey"}};
    for (size_t i = 0; i < sizeof kv / sizeof *kv; i++)
        if (strcmp(kv[i][0], name) == 0) return kv[i][1];
    return NULL;
}

/* The script inside an onstart (the base64 of the echo line, gunzipped); malloc'd or NULL. */
static char *onstart_payload(const char *on)
{
    const char *p = strstr(on, "echo '");
    if (!p) return NULL;
    p += 6;
    const char *q = strchr(p, '\'');
    if (!q) return NULL;
    size_t n = (size_t)(q - p);
    unsigned char *gz = tb_xmalloc(TB_BASE64_DECODED_MAX(n) + 3);
    long gn = tb_base64_decode(p, n, gz);
    if (gn < 0) { free(gz); return NULL; }
    char *out = tb_xmalloc(1 << 16);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    inflateInit2(&zs, 15 + 16);
    zs.next_in = gz;
    zs.avail_in = (uInt)gn;
    zs.next_out = (Bytef *)out;
    zs.avail_out = (1 << 16) - 1;
    int z = inflate(&zs, Z_FINISH);
    out[zs.total_out] = 0;
    inflateEnd(&zs);
    free(gz);
    if (z != Z_STREAM_END) { free(out); return NULL; }
    return out;
}

int main(void)
{
    /* labels: UTC time and 8 hex digits; different randomness, different label */
    char a[64], b[64];
    tb_vast_label_new(a, sizeof a, 1796420000, 0x1234abcdULL);
    CHECK_STR(a, "tb-20261204-213320-1234abcd", "label from time and randomness");
    tb_vast_label_new(b, sizeof b, 1796420000, 0xffffffff1234abceULL);
    CHECK_STR(b, "tb-20261204-213320-1234abce", "only the low 32 bits");

    /* forwarded variables: store credentials present and non-empty; never VAST_API_KEY; --env wins */
    CHECK(tb_vast_env_forwarded("AWS_SECRET_ACCESS_KEY") && tb_vast_env_forwarded("HF_TOKEN") &&
          tb_vast_env_forwarded("AZURE_STORAGE_CONNECTION_STRING") && tb_vast_env_forwarded("R2_ACCOUNT_ID"), "store variables forwarded");
    CHECK(!tb_vast_env_forwarded("VAST_API_KEY") && !tb_vast_env_forwarded("HOME") && !tb_vast_env_forwarded("AWS_PROFILE"),
          "VAST_API_KEY, HOME, AWS_PROFILE are not");
    cJSON *env = cJSON_CreateObject();
    cJSON_AddStringToObject(env, "HF_TOKEN", "mine");
    int n = tb_vast_env_forward(env, fake_env, NULL);
    CHECK_INT(n, 3, "three added (AWS pair, Azure key; HF_TOKEN given, R2_ACCOUNT_ID empty)");
    char *s = cJSON_PrintUnformatted(env);
    CHECK_STR(s, "{\"HF_TOKEN\":\"mine\",\"AWS_ACCESS_KEY_ID\":\"AKID\",\"AWS_SECRET_ACCESS_KEY\":\"s3cret\",\"AZURE_STORAGE_KEY\":\"azkey\"}",
              "the env object");
    free(s);
    cJSON_Delete(env);

    /* secret names */
    static const char *const secret[] = {"api_key", "AWS_SECRET_ACCESS_KEY", "HF_TOKEN", "jupyter_token", "DB_PASSWORD",
                                         "AZURE_STORAGE_CONNECTION_STRING", "gcp_credentials", NULL};
    static const char *const plain[] = {"label", "gpu_name", "R2_ACCOUNT_ID", "MODE", "onstart", "image", NULL};
    for (int i = 0; secret[i]; i++) CHECK(tb_vast_secret_name(secret[i]), "%s is secret", secret[i]);
    for (int i = 0; plain[i]; i++) CHECK(!tb_vast_secret_name(plain[i]), "%s is not", plain[i]);

    /* redaction keeps names and structure */
    cJSON *rec = cJSON_Parse("{\"id\":5,\"api_key\":\"k\",\"jupyter_token\":\"t\",\"label\":\"x\",\"extra_env\":[[\"HF_TOKEN\",\"hf\"],"
                             "[\"MODE\",\"a\"]],\"nested\":{\"env\":{\"AWS_SECRET_ACCESS_KEY\":\"s\",\"R2_ACCOUNT_ID\":\"acc\"}},"
                             "\"list\":[{\"secret\":\"z\"}]}");
    tb_vast_redact(rec);
    s = cJSON_PrintUnformatted(rec);
    CHECK_STR(s, "{\"id\":5,\"api_key\":\"<redacted>\",\"jupyter_token\":\"<redacted>\",\"label\":\"x\",\"extra_env\":[[\"HF_TOKEN\","
                 "\"<redacted>\"],[\"MODE\",\"a\"]],\"nested\":{\"env\":{\"AWS_SECRET_ACCESS_KEY\":\"<redacted>\",\"R2_ACCOUNT_ID\":\"acc\"}},"
                 "\"list\":[{\"secret\":\"<redacted>\"}]}", "redacted record");
    free(s);
    cJSON_Delete(rec);

    /* statuses */
    CHECK(tb_vast_state_of("running") == TB_VAST_RUNNING, "running");
    static const char *const failed[] = {"exited", "stopped", "frozen", "offline", "unknown", NULL};
    for (int i = 0; failed[i]; i++) CHECK(tb_vast_state_of(failed[i]) == TB_VAST_FAILED, "%s fails", failed[i]);
    CHECK(tb_vast_state_of(NULL) == TB_VAST_PENDING && tb_vast_state_of("loading") == TB_VAST_PENDING &&
          tb_vast_state_of("created") == TB_VAST_PENDING, "null, loading, created wait");

    /* funds, age, numbers and ids */
    double usd = 0;
    cJSON *u = cJSON_Parse("{\"credit\":12.5,\"balance\":-3}");
    CHECK(tb_vast_funds(u, &usd) == 0 && usd == 12.5, "credit first");
    cJSON_Delete(u);
    u = cJSON_Parse("{\"balance\":7}");
    CHECK(tb_vast_funds(u, &usd) == 0 && usd == 7, "else balance");
    cJSON_Delete(u);
    u = cJSON_Parse("{\"credit\":\"x\"}");
    CHECK(tb_vast_funds(u, &usd) == -1, "neither: -1");
    cJSON_Delete(u);
    cJSON *i = cJSON_Parse("{\"id\":\"31000001\",\"start_date\":1000.5,\"dph_total\":\"0.35\"}");
    CHECK(tb_vast_age_s(i, 4600) > 3599.4 && tb_vast_age_s(i, 4600) < 3599.6, "age from start_date");
    CHECK(tb_vast_age_s(i, 10) == 0, "a start in the future is age 0");
    CHECK(tb_vast_id(i) == 31000001 && tb_vast_num(i, "dph_total") == 0.35 && tb_vast_num(i, "nope") == -1, "id and numbers from strings");
    cJSON_Delete(i);
    i = cJSON_Parse("{\"id\":1}");
    CHECK(tb_vast_age_s(i, 10) == -1, "no start_date: -1");
    cJSON_Delete(i);

    /* the offer summary: the fields in order, RAM in GB, reliability2 preferred */
    cJSON *off = cJSON_Parse("{\"id\":5001,\"gpu_name\":\"RTX 4090\",\"num_gpus\":1,\"gpu_ram\":24564,\"cpu_ram\":64000,\"disk_space\":200,"
                             "\"dph_total\":0.35,\"reliability\":0.9,\"reliability2\":0.995,\"inet_down\":900,\"inet_up\":800,"
                             "\"geolocation\":\"Texas, US\",\"cuda_max_good\":12.4,\"machine_id\":1001,\"score\":250}");
    cJSON *sum = tb_vast_offer_summary(off);
    s = cJSON_PrintUnformatted(sum);
    CHECK_STR(s, "{\"id\":5001,\"gpu_name\":\"RTX 4090\",\"num_gpus\":1,\"gpu_ram\":24.564,\"cpu_ram\":64,\"disk_space\":200,"
                 "\"dph_total\":0.35,\"reliability\":0.995,\"inet_down\":900,\"inet_up\":800,\"geolocation\":\"Texas, US\","
                 "\"cuda_max_good\":12.4,\"machine_id\":1001}", "offer summary");
    free(s);
    cJSON_Delete(sum);
    cJSON_Delete(off);
    off = cJSON_Parse("{\"id\":1}");
    sum = tb_vast_offer_summary(off);
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(sum, "gpu_name")) && cJSON_GetArraySize(sum) == 13, "missing fields are null");
    cJSON_Delete(sum);
    cJSON_Delete(off);

    /* shell quoting */
    static const char *const q[][2] = {{"abc", "abc"}, {"s3://b/run1", "s3://b/run1"}, {"", "''"}, {"a b", "'a b'"},
                                       {"it's", "'it'\\''s'"}, {"$HOME", "'$HOME'"}, {"a;rm -rf /", "'a;rm -rf /'"}};
    for (size_t k = 0; k < sizeof q / sizeof *q; k++) {
        s = tb_vast_shquote(q[k][0]);
        CHECK_STR(s, q[k][1], "quote '%s'", q[k][0]);
        free(s);
    }

    /* the onstart: the script back out of it, args quoted, watchdog only with max_hours */
    const char *script = "#!/bin/bash\necho 'quotes' \"and\" $vars EOF\n";
    const char *args[] = {"--run", "python train.py --x 'y'", "--sync-to", "s3://b/p"};
    char *on = tb_vast_onstart(script, strlen(script), args, 4, 1.5, "https://console.vast.ai", "tb-l");
    char *back = onstart_payload(on);
    CHECK(back && strcmp(back, script) == 0, "the script survives gzip + base64");
    free(back);
    CHECK(strstr(on, "exec /root/trainbox/start_vast.sh --run 'python train.py --x '\\''y'\\''' --sync-to s3://b/p\n") != NULL,
          "exec line with quoted args");
    CHECK(strstr(on, "sleep 5400;") && strstr(on, "TB_DESTROY_URL=https://console.vast.ai/api/v0/instances/ ") && strstr(on, "$CONTAINER_API_KEY"),
          "watchdog after 1.5 h through the API with the instance's own key");
    CHECK(strstr(on, "# trainbox vast launch (label tb-l)") != NULL, "label in the header");
    free(on);
    on = tb_vast_onstart(script, strlen(script), NULL, 0, 0, "https://console.vast.ai", "tb-l");
    CHECK(!strstr(on, "sleep") && strstr(on, "exec /root/trainbox/start_vast.sh\n"), "no watchdog, no args");
    free(on);
    return tap_done();
}
