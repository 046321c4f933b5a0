/* store_opts: the store option group every command that touches a store shares (TB_STORE_OPTS and
 * TB_REQUEST_OPTS in opts.h), checked and turned into a struct tb_store_cfg in one place. */
#include "opts.h"
#include "store.h"
#include <stdlib.h>

int tb_store_parse_retries(const char *s, int *attempts)
{
    unsigned long long v;
    if (tb_parse_u64(s, &v) || v < 1 || v > 100) return -1;
    *attempts = (int)v;
    return 0;
}

int tb_store_parse_timeout(const char *s, long *seconds)
{
    unsigned long long v;
    if (tb_parse_u64(s, &v) || v < 1 || v > 86400) return -1;
    *seconds = (long)v;
    return 0;
}

int tb_store_opt(const struct tb_optparse *p, int id, struct tb_common_cfg *co, struct tb_store_cfg *cfg)
{
    const char *cmd = p->spec->name;
    cfg->http.log_cmd = cmd;
    if (tb_common_opt(p, id, co)) {
        cfg->http.verbose = co->verbose;
        return 1;
    }
    switch (id) {
    case TB_OPT_ENDPOINT:
        if (!p->arg || !*p->arg) return tb_usage(cmd, "--endpoint wants a URL such as http://127.0.0.1:9000");
        cfg->endpoint = p->arg;
        return 1;
    case TB_OPT_REGION:
        if (!p->arg || !*p->arg) return tb_usage(cmd, "--region wants a region name such as us-east-1");
        cfg->region = p->arg;
        return 1;
    case TB_OPT_PROFILE:
        if (!p->arg || !*p->arg) return tb_usage(cmd, "--profile wants a profile name");
        cfg->profile = p->arg;
        return 1;
    case TB_OPT_RETRIES:
        if (tb_store_parse_retries(p->arg, &cfg->http.max_attempts))
            return tb_usage(cmd, "--retries wants a number of attempts from 1 to 100, not '%s'", p->arg ? p->arg : "");
        return 1;
    case TB_OPT_TIMEOUT:
        if (tb_store_parse_timeout(p->arg, &cfg->http.low_speed_secs))
            return tb_usage(cmd, "--timeout wants whole seconds from 1 to 86400, not '%s'", p->arg ? p->arg : "");
        return 1;
    }
    return 0;
}
