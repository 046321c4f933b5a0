/* The store option group: value checks of tb_store_opt, --profile's precedence in the credential
 * chain, and the -v request log of lib/http.c never showing a secret. */
#include "creds.h"
#include "http.h"
#include "opts.h"
#include "store.h"
#include "tap.h"
#include "testutil.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static const struct tb_opt opts[] = {TB_STORE_OPTS, TB_REQUEST_OPTS, TB_COMMON_OPTS, TB_OPT_END};
static const struct tb_cmd_spec spec = {"unit", "test", "", NULL, opts, NULL};

/* Feed one option with its argument to tb_store_opt, as the parser would have returned it. */
static int feed(int id, const char *name, const char *arg, struct tb_common_cfg *co, struct tb_store_cfg *cfg)
{
    struct tb_optparse p;
    memset(&p, 0, sizeof p);
    p.spec = &spec;
    p.name = name;
    p.arg = (char *)arg;
    return tb_store_opt(&p, id, co, cfg);
}

static void test_values(void)
{
    struct tb_common_cfg co = {0};
    struct tb_store_cfg cfg;
    tb_store_cfg_defaults(&cfg);
    CHECK_INT(cfg.http.max_attempts, 10, "default attempts 10");
    CHECK_INT(cfg.http.low_speed_secs, 30, "default --timeout 30 s");
    CHECK_INT(cfg.http.low_speed_bytes, 1024, "stall below 1 KiB/s");
    CHECK_INT(cfg.http.connect_timeout_ms, 10000, "connect timeout 10 s");
    CHECK_INT(feed(TB_OPT_RETRIES, "retries", "3", &co, &cfg), 1, "--retries 3 handled");
    CHECK_INT(cfg.http.max_attempts, 3, "--retries sets the attempts");
    CHECK_INT(feed(TB_OPT_TIMEOUT, "timeout", "5", &co, &cfg), 1, "--timeout 5 handled");
    CHECK_INT(cfg.http.low_speed_secs, 5, "--timeout sets the stall time");
    /* out of range, not whole seconds (1.5), over a day (86401), empty */
    static const struct { int id; const char *name, *arg; } refused[] = {
        {TB_OPT_RETRIES, "retries", "0"}, {TB_OPT_RETRIES, "retries", "101"}, {TB_OPT_RETRIES, "retries", "x"},
        {TB_OPT_TIMEOUT, "timeout", "0"}, {TB_OPT_TIMEOUT, "timeout", "-1"}, {TB_OPT_TIMEOUT, "timeout", "1.5"},
        {TB_OPT_TIMEOUT, "timeout", "86401"}, {TB_OPT_ENDPOINT, "endpoint", ""}, {TB_OPT_PROFILE, "profile", ""},
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        CHECK_INT(feed(refused[i].id, refused[i].name, refused[i].arg, &co, &cfg), TB_EUSAGE, "--%s '%s' refused",
                  refused[i].name, refused[i].arg);
    CHECK(cfg.http.max_attempts == 3 && cfg.http.low_speed_secs == 5, "a refused value leaves the setting");
    CHECK_INT(feed(TB_OPT_ENDPOINT, "endpoint", "http://127.0.0.1:9", &co, &cfg), 1, "--endpoint handled");
    CHECK_STR(cfg.endpoint, "http://127.0.0.1:9", "--endpoint kept");
    CHECK_INT(feed(TB_OPT_REGION, "region", "eu-west-1", &co, &cfg), 1, "--region handled");
    CHECK_STR(cfg.region, "eu-west-1", "--region kept");
    CHECK_INT(feed(TB_OPT_PROFILE, "profile", "p2", &co, &cfg), 1, "--profile handled");
    CHECK_STR(cfg.profile, "p2", "--profile kept");
    CHECK_INT(feed(TB_OPT_VERBOSE, "verbose", NULL, &co, &cfg), 1, "-v handled");
    CHECK(co.verbose && cfg.http.verbose, "-v turns on the request log");
    CHECK_STR(cfg.http.log_cmd, "unit", "the log names the command");
    CHECK_INT(feed(TB_OPT_QUIET, "quiet", NULL, &co, &cfg), 1, "-q handled");
    CHECK(co.quiet && !co.verbose && !cfg.http.verbose, "-q after -v: quiet, no request log");
    CHECK_INT(feed(1, "other", NULL, &co, &cfg), 0, "a command's own option is not handled");
}

static void test_profile(void)
{
    char dir[] = "/tmp/tb_storeopts_XXXXXX";
    struct tu_aws_files af;
    CHECK(tu_aws_files_make(dir,
                            "[default]\naws_access_key_id = DEFKEY\naws_secret_access_key = defsecret\n"
                            "[p2]\naws_access_key_id = P2KEY\naws_secret_access_key = p2secret\n",
                            "[profile p2]\nregion = ap-south-1\n", &af),
          "temp dir");
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    unsetenv("AWS_SESSION_TOKEN");
    setenv("AWS_PROFILE", "default", 1);
    setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    struct tb_creds c;
    tb_err e = {0};
    CHECK_INT(tb_creds_load_profile(TB_URI_S3, NULL, &c, &e), 0, "no --profile: loads");
    CHECK_STR(c.access_key, "ENVKEY", "no --profile: environment keys as before");
    tb_creds_free(&c);
    CHECK_INT(tb_creds_load_profile(TB_URI_S3, "p2", &c, &e), 0, "--profile p2 loads");
    CHECK_STR(c.access_key, "P2KEY", "--profile wins over AWS_PROFILE and the environment keys (as awscli)");
    CHECK_STR(c.region, "ap-south-1", "--profile's region from the config file");
    tb_creds_free(&c);
    CHECK_INT(tb_creds_load_profile(TB_URI_S3, "nope", &c, &e), TB_ENOPERM, "unknown --profile: 77");
    CHECK(strstr(e.msg, "'nope'") != NULL, "the message names the profile (%s)", e.msg);
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    tu_aws_files_remove(dir, &af);
}

/* A port nothing listens on: bound, then closed. */
static int closed_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(s, (struct sockaddr *)&a, sizeof a);
    socklen_t l = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &l);
    close(s);
    return ntohs(a.sin_port);
}

static int prep(struct tb_http_req *h, void *ud, tb_err *e)
{
    (void)e;
    h->method = "GET";
    tb_http_set_url(h, ud);
    tb_http_header(h, "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/x, Signature=hdrsecret");
    return 0;
}

static void test_log(void)
{
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/b/k?X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%%2Fscope"
             "&X-Amz-Signature=sigsecret&X-Amz-Security-Token=toksecret&sig=sassecret", closed_port());
    struct tb_http_cfg hc;
    tb_http_cfg_defaults(&hc);
    hc.verbose = 1;
    hc.log_cmd = "unit";
    hc.max_attempts = 2;
    hc.base_ms = hc.cap_ms = 1;
    struct tb_http *h;
    tb_err e = {0};
    CHECK_INT(tb_http_new(&h, &hc, &e), 0, "http handle");
    char logp[] = "/tmp/tb_storeopts_log_XXXXXX";
    int lfd = mkstemp(logp);
    fflush(stderr);
    int saved = dup(2);
    dup2(lfd, 2);
    struct tb_http_req r;
    memset(&r, 0, sizeof r);
    r.prepare = prep;
    r.ud = url;
    int rc = tb_http_run(h, &r, &e);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    CHECK_INT(rc, TB_EUNAVAIL, "refused connection: 69 after the retries");
    char buf[8192] = "";
    ssize_t n = pread(lfd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = 0;
    close(lfd);
    unlink(logp);
    CHECK(strstr(buf, "trainbox unit: GET http://127.0.0.1:") != NULL, "-v logs method and URL");
    CHECK(strstr(buf, "(attempt 1/2,") && strstr(buf, "retrying in") && strstr(buf, "(attempt 2/2,"), "-v logs attempts and the retry");
    CHECK(!strstr(buf, "sigsecret") && !strstr(buf, "toksecret") && !strstr(buf, "sassecret"), "no signature, token or SAS sig in the log");
    CHECK(!strstr(buf, "AKIAIOSFODNN7EXAMPLE") && !strstr(buf, "hdrsecret") && !strstr(buf, "Authorization"), "no key id, no header");
    CHECK(strstr(buf, "X-Amz-Signature=***") != NULL, "the signature is shown redacted");
    tb_http_req_clear(&r);
    tb_http_free(h);
}

int main(void)
{
    test_values();
    test_profile();
    test_log();
    return tap_done();
}
