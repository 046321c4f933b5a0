/* testutil: helpers several unit tests share (beside tap.h, which only checks and counts):
 * a small seeded PRNG for reproducible random inputs, a throw-away AWS credentials/config pair, and
 * a store opened on a local directory. */
#ifndef TB_TESTUTIL_H
#define TB_TESTUTIL_H
#include "store.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* xorshift64: the same sequence for the same seed on every run, so a failing input comes back. */
static inline uint64_t tu_xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Files dir/credentials and dir/config with the given texts (dir a mkdtemp template, filled in);
 * AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE point at them. 0 when dir could not be made. */
struct tu_aws_files { char creds[128], config[128]; };
static inline int tu_aws_files_make(char *dir, const char *creds, const char *config, struct tu_aws_files *f)
{
    if (!mkdtemp(dir)) return 0;
    snprintf(f->creds, sizeof f->creds, "%s/credentials", dir);
    snprintf(f->config, sizeof f->config, "%s/config", dir);
    FILE *fp = fopen(f->creds, "w");
    if (fp) { fputs(creds, fp); fclose(fp); }
    fp = fopen(f->config, "w");
    if (fp) { fputs(config, fp); fclose(fp); }
    setenv("AWS_SHARED_CREDENTIALS_FILE", f->creds, 1);
    setenv("AWS_CONFIG_FILE", f->config, 1);
    return 1;
}

static inline void tu_aws_files_remove(const char *dir, const struct tu_aws_files *f)
{
    unlink(f->creds);
    unlink(f->config);
    rmdir(dir);
}

/* unsetenv for every name of a NULL-terminated list */
static inline void tu_unsetenv(const char *const *names)
{
    for (; *names; names++) unsetenv(*names);
}

/* A store on the directory path (which need not exist yet), or NULL with e filled. */
static inline struct tb_store *tu_dir_store(const char *path, tb_err *e)
{
    struct tb_uri u;
    struct tb_store *s = NULL;
    if (tb_uri_parse(path, &u, e)) return NULL;
    if (tb_store_open(&s, &u, NULL, e)) s = NULL;
    tb_uri_free(&u);
    return s;
}
#endif
