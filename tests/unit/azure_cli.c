/* azure_cli: a test driver for lib/store_azure, used by tests/azure.bats against Azurite (not a unit
 * test: it needs a server, so it is built by `make unit` but not run by it).
 *   azure_cli [-b BLOCK] [-j PAR] [-m MAXRESULTS] [-r RETRIES] [-n] [-P] CMD ARGS   (-P: public container)
 *   mkcontainer az://ACCT/CONT | put FILE az://ACCT/CONT/KEY | putmem TEXT az://... |
 *   get az://... [OFF [LEN]] | head az://... | list az://ACCT/CONT[/PREFIX] [DELIM] | delete az://...
 * Credentials come from the environment, as trainbox's. Errors: "trainbox azure_cli: ..." and the
 * library's exit code (TB_AZ_EXISTS is reported as 65). */
#include "err.h"
#include "azblob.h"
#include "uri.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int out_sink(void *ctx, const void *p, size_t n)
{
    (void)ctx;
    return fwrite(p, 1, n, stdout) == n ? 0 : TB_EIO;
}

static int list_cb(void *ctx, const struct tb_az_entry *ent)
{
    (void)ctx;
    if (ent->is_prefix) printf("PRE %s\n", ent->name);
    else printf("%s %llu %s %s\n", ent->name, (unsigned long long)ent->info.size,
                ent->info.md5[0] ? ent->info.md5 : "-", ent->info.sha256[0] ? ent->info.sha256 : "-");
    return 0;
}

static void print_info(const struct tb_az_info *in)
{
    printf("size=%llu md5=%s sha256=%s etag=%s\n", (unsigned long long)in->size, in->md5, in->sha256,
           in->etag[0] ? "yes" : "no");
}

int main(int argc, char **argv)
{
    struct tb_az_opts o = {0};
    o.retries = 4;
    int c, no_clobber = 0, public_blobs = 0;
    while ((c = getopt(argc, argv, "b:j:m:r:nP")) != -1) {
        switch (c) {
        case 'b': o.block_size = strtoull(optarg, NULL, 10); break;
        case 'j': o.parallel = atoi(optarg); break;
        case 'm': o.maxresults = atoi(optarg); break;
        case 'r': o.retries = atoi(optarg); o.backoff_ms = 50; break;
        case 'n': no_clobber = 1; break;
        case 'P': public_blobs = 1; break;
        default: return TB_EUSAGE;
        }
    }
    if (argc - optind < 2) {
        fprintf(stderr, "usage: azure_cli [-b BLOCK] [-j PAR] [-m MAX] [-r RETRIES] [-n] CMD ARGS\n");
        return TB_EUSAGE;
    }
    const char *cmd = argv[optind];
    const char *uri = strcmp(cmd, "put") == 0 || strcmp(cmd, "putmem") == 0 ? argv[optind + 2] : argv[optind + 1];
    if (!uri) return tb_usage("azure_cli", "missing URI");
    tb_err e = {0};
    struct tb_uri u;
    if (tb_uri_parse(uri, &u, &e)) return tb_report("azure_cli", &e);
    if (u.scheme != TB_URI_AZ) {
        tb_uri_free(&u);
        return tb_usage("azure_cli", "not an az:// URI: %s", uri);
    }
    struct tb_az *az = NULL;
    int rc = tb_az_open(&az, u.account, &o, NULL, &e);
    struct tb_az_info info;
    struct tb_az_put p = {0};
    p.no_clobber = no_clobber;
    if (rc) {
    } else if (strcmp(cmd, "mkcontainer") == 0) {
        rc = tb_az_create_container(az, u.bucket, public_blobs, &e);
    } else if (strcmp(cmd, "put") == 0) {
        rc = tb_az_put_file(az, u.bucket, u.key, argv[optind + 1], &p, &info, &e);
        if (!rc) print_info(&info);
    } else if (strcmp(cmd, "putmem") == 0) {
        rc = tb_az_put_mem(az, u.bucket, u.key, argv[optind + 1], strlen(argv[optind + 1]), &p, &info, &e);
        if (!rc) print_info(&info);
    } else if (strcmp(cmd, "get") == 0) {
        uint64_t off = argc - optind > 2 ? strtoull(argv[optind + 2], NULL, 10) : 0;
        uint64_t len = argc - optind > 3 ? strtoull(argv[optind + 3], NULL, 10) : UINT64_MAX;
        rc = tb_az_get(az, u.bucket, u.key, off, len, out_sink, NULL, &e);
    } else if (strcmp(cmd, "head") == 0) {
        rc = tb_az_head(az, u.bucket, u.key, &info, &e);
        if (!rc) print_info(&info);
    } else if (strcmp(cmd, "list") == 0) {
        rc = tb_az_list(az, u.bucket, u.key, argc - optind > 2 ? argv[optind + 2] : NULL, list_cb, NULL, &e);
    } else if (strcmp(cmd, "delete") == 0) {
        rc = tb_az_delete(az, u.bucket, u.key, &e);
    } else {
        rc = tb_usage("azure_cli", "unknown command %s", cmd);
        e.code = 0;
    }
    if (rc && e.code) {
        if (e.code == TB_AZ_EXISTS) e.code = TB_EDATA;
        rc = tb_report("azure_cli", &e);
    }
    if (az) fprintf(stderr, "retries=%u\n", tb_az_retries(az));
    tb_az_close(az);
    tb_uri_free(&u);
    fflush(stdout);
    return rc;
}
