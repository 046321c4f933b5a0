/* creds: environment variables and ~/.aws/{credentials,config} (see creds.h). */
#include "creds.h"
#include "alloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dupz(const char *s) { return s && *s ? tb_xstrdup(s) : NULL; }

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r')) s[--n] = 0;
    return s;
}

/* Read key from [section] of an INI file (aws style). Returns malloc'd value or NULL. */
static char *ini_get(const char *path, const char *section, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char line[4096];
    int in = 0;
    char *val = NULL;
    while (fgets(line, sizeof line, f)) {
        char *l = trim(line);
        if (*l == '#' || *l == ';' || !*l) continue;
        if (*l == '[') {
            char *end = strchr(l, ']');
            if (!end) continue;
            *end = 0;
            char *name = trim(l + 1);
            if (strncmp(name, "profile ", 8) == 0) name = trim(name + 8);
            in = strcmp(name, section) == 0;
            continue;
        }
        if (!in) continue;
        char *eq = strchr(l, '=');
        if (!eq) continue;
        *eq = 0;
        if (strcmp(trim(l), key) == 0) { free(val); val = tb_xstrdup(trim(eq + 1)); }
    }
    fclose(f);
    return val;
}

static void file_path(const char *env, const char *rel, char *out, size_t n)
{
    const char *v = getenv(env);
    if (v && *v) { snprintf(out, n, "%s", v); return; }
    const char *home = getenv("HOME");
    snprintf(out, n, "%s/%s", home ? home : "", rel);
}

static int aws_chain(struct tb_creds *c, const char *cli_profile, tb_err *e)
{
    const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
    const char *profile = cli_profile;
    if (profile && *profile) ak = sk = NULL; /* as awscli's --profile: the named profile beats the environment */
    else profile = getenv("AWS_PROFILE");
    if (!profile || !*profile) profile = getenv("AWS_DEFAULT_PROFILE");
    int explicit_profile = profile && *profile;
    if (!explicit_profile) profile = "default";
    char cpath[4096], fpath[4096];
    file_path("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials", fpath, sizeof fpath);
    file_path("AWS_CONFIG_FILE", ".aws/config", cpath, sizeof cpath);
    if (ak && *ak && sk && *sk) { /* as botocore: environment keys win over AWS_PROFILE */
        c->access_key = tb_xstrdup(ak);
        c->secret_key = tb_xstrdup(sk);
        c->token = dupz(getenv("AWS_SESSION_TOKEN"));
        snprintf(c->source, sizeof c->source, "environment");
    } else {
        c->access_key = ini_get(fpath, profile, "aws_access_key_id");
        c->secret_key = ini_get(fpath, profile, "aws_secret_access_key");
        c->token = ini_get(fpath, profile, "aws_session_token");
        if (!c->access_key) { /* credentials may live in the config file too */
            c->access_key = ini_get(cpath, profile, "aws_access_key_id");
            free(c->secret_key);
            c->secret_key = ini_get(cpath, profile, "aws_secret_access_key");
            free(c->token);
            c->token = ini_get(cpath, profile, "aws_session_token");
        }
        snprintf(c->source, sizeof c->source, "profile %.64s", profile);
        if (!c->access_key || !c->secret_key) {
            if (explicit_profile)
                return tb_fail(e, TB_ENOPERM, "no credentials for profile '%s' in %s", profile, fpath);
            return tb_fail(e, TB_ENOPERM, "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with %s", fpath);
        }
    }
    const char *r = getenv("AWS_REGION");
    if (!r || !*r) r = getenv("AWS_DEFAULT_REGION");
    if (r && *r) c->region = tb_xstrdup(r);
    else c->region = ini_get(cpath, profile, "region");
    if (!c->region) c->region = tb_xstrdup("us-east-1");
    return 0;
}

int tb_creds_load(enum tb_scheme scheme, struct tb_creds *c, tb_err *e) { return tb_creds_load_profile(scheme, NULL, c, e); }

int tb_creds_load_profile(enum tb_scheme scheme, const char *profile, struct tb_creds *c, tb_err *e)
{
    memset(c, 0, sizeof *c);
    const char *pre = scheme == TB_URI_R2 ? "R2" : scheme == TB_URI_GS ? "GS" : NULL;
    if (pre) {
        char a[64], s[64];
        snprintf(a, sizeof a, "%s_ACCESS_KEY_ID", pre);
        snprintf(s, sizeof s, "%s_SECRET_ACCESS_KEY", pre);
        const char *ak = getenv(a), *sk = getenv(s);
        if (ak && *ak && sk && *sk) {
            c->access_key = tb_xstrdup(ak);
            c->secret_key = tb_xstrdup(sk);
            c->region = tb_xstrdup("auto");
            snprintf(c->source, sizeof c->source, "%s_* environment", pre);
            return 0;
        }
    }
    int rc = aws_chain(c, profile, e);
    if (rc) {
        tb_creds_free(c);
        if (pre) tb_err_wrap(e, "%s_ACCESS_KEY_ID/%s_SECRET_ACCESS_KEY not set", pre, pre);
        return rc;
    }
    if (pre) { free(c->region); c->region = tb_xstrdup("auto"); }
    return 0;
}

void tb_creds_free(struct tb_creds *c)
{
    if (c->secret_key) memset(c->secret_key, 0, strlen(c->secret_key));
    free(c->access_key);
    free(c->secret_key);
    free(c->token);
    free(c->region);
    memset(c, 0, sizeof *c);
}
