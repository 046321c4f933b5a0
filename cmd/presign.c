/* presign: print a presigned URL for one object (S3, R2 and GCS through SigV4 query signing; any
 * backend that implements tb_store_backend.presign). */
#include "commands.h"
#include "err.h"
#include "opts.h"
#include "store.h"
#include "uri.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_EXPIRES = 1, OPT_METHOD };

static const struct tb_opt presign_opts[] = {
    {OPT_EXPIRES, 0, "expires", "SECONDS", "validity of the URL (default 3600, at most 604800)", NULL},
    {OPT_METHOD, 0, "method", "METHOD", "GET (download, the default) or PUT (upload)", "GET PUT"},
    TB_STORE_OPTS,
    TB_COMMON_OPTS,
    TB_OPT_END,
};

static int cmd_presign(int argc, char **argv);

const struct tb_cmd_spec tb_cmd_presign = {
    "presign",
    "print a presigned URL for an object",
    "[OPTIONS] URI",
    "Print a URL that lets anyone holding it GET (or PUT) the object at URI until it expires,\n"
    "signed with the credentials of the environment (SigV4 query signing for s3://, r2://, gs://).",
    presign_opts,
    cmd_presign,
};

static int cmd_presign(int argc, char **argv)
{
    unsigned long long expires = 3600;
    int method = 0;
    struct tb_common_cfg co = {0};
    struct tb_store_cfg cfg;
    tb_store_cfg_defaults(&cfg);
    static const char *const methods[] = {"GET", "PUT", NULL};
    struct tb_optparse p;
    tb_opts_init(&p, &tb_cmd_presign, argc, argv);
    int c, rc = 0;
    while ((c = tb_opts_next(&p)) > 0) {
        switch (c) {
        case OPT_EXPIRES: if ((rc = tb_opt_u64(&p, &expires))) goto out; break;
        case OPT_METHOD: if ((rc = tb_opt_choice(&p, methods, &method))) goto out; break;
        default: if (tb_store_opt(&p, c, &co, &cfg) == TB_EUSAGE) { rc = TB_EUSAGE; goto out; } break;
        }
    }
    if (c < 0) { rc = tb_opts_exit(c); goto out; }
    if (p.npos != 1) { rc = tb_usage("presign", p.npos ? "one URI only" : "missing URI"); goto out; }
    if (expires < 1 || expires > 604800) { rc = tb_usage("presign", "--expires must be between 1 and 604800 seconds (7 days)"); goto out; }
    struct tb_uri u;
    tb_err e = {0};
    if (tb_uri_parse(p.pos[0], &u, &e)) { rc = tb_usage("presign", "%s", e.msg); goto out; }
    if (!tb_uri_is_bucket(&u) || !u.key || !*u.key) {
        rc = tb_usage("presign", "'%s' is not an object in a bucket (s3://, r2://, gs:// or az://BUCKET/KEY)", p.pos[0]);
        tb_uri_free(&u);
        goto out;
    }
    struct tb_store *s;
    if ((rc = tb_store_open(&s, &u, &cfg, &e))) { rc = tb_report("presign", &e); tb_uri_free(&u); goto out; }
    char *url = NULL;
    rc = tb_store_presign(s, u.key, methods[method], (long)expires, &url, &e);
    if (rc) rc = tb_report("presign", &e);
    else printf("%s\n", url);
    free(url);
    tb_store_close(s);
    tb_uri_free(&u);
out:
    tb_opts_free(&p);
    return rc;
}
