/* opts: one declarative option table per command; parsing, --help text and shell completions are all
 * produced from it, so they cannot drift apart. */
#ifndef TB_OPTS_H
#define TB_OPTS_H
#include <stdio.h>

struct tb_opt {
    int id;            /* > 0, returned by tb_opts_next */
    char shrt;         /* short letter or 0 */
    const char *lng;   /* long name without "--" */
    const char *arg;   /* NULL: a flag; "NAME": required argument; "[NAME]": optional (--opt=NAME only) */
    const char *help;  /* one line */
    const char *complete; /* completion hint for the argument: "file", "dir", "cmd" or "w1 w2 ..." words */
};
#define TB_OPT_END {0, 0, NULL, NULL, NULL, NULL}

struct tb_cmd_spec {
    const char *name;      /* subcommand name, e.g. "split" */
    const char *summary;   /* one line for `trainbox --help` */
    const char *synopsis;  /* usage lines, newline-separated, each without "trainbox NAME " */
    const char *description; /* a short paragraph for --help */
    const struct tb_opt *opts; /* NULL-terminated table (TB_OPT_END); --help is implicit */
    int (*run)(int argc, char **argv); /* NULL: not built yet */
};

struct tb_optparse {
    const struct tb_cmd_spec *spec;
    int argc;
    char **argv;
    int i;            /* next argv index */
    const char *shortrest; /* remaining letters of a bundled short-option group */
    int only_pos;     /* saw "--" */
    char *arg;        /* argument of the option just returned (NULL for flags / absent optional) */
    const char *name; /* the option's display name as the user wrote it */
    char **pos;       /* positional arguments, in order (points into argv) */
    int npos;
};

#define TB_OPTS_HELP (-2)
#define TB_OPTS_ERROR (-1)

/* Options may appear anywhere (GNU-style permutation) until "--". */
void tb_opts_init(struct tb_optparse *p, const struct tb_cmd_spec *spec, int argc, char **argv);
/* Returns an option id (> 0), 0 when done, TB_OPTS_ERROR after printing a usage error, or
 * TB_OPTS_HELP after printing --help to stdout. */
int tb_opts_next(struct tb_optparse *p);
/* Exit status for a negative tb_opts_next result: 0 for help, 64 for errors. */
int tb_opts_exit(int r);
void tb_opts_free(struct tb_optparse *p);

void tb_help_print(const struct tb_cmd_spec *spec, FILE *out);

/* Argument converters that print a usage error themselves and return 64 on failure, 0 on success. */
int tb_opt_u64(const struct tb_optparse *p, unsigned long long *out);
int tb_opt_size(const struct tb_optparse *p, unsigned long long *out); /* 10k, 5M, 1GiB, ... */
int tb_opt_choice(const struct tb_optparse *p, const char *const *choices, int *out);

/* --max-line SIZE, shared by every command that reads NDJSON (one table entry, one converter, one
 * description in trainbox(1) COMMON OPTIONS). */
#define TB_OPT_MAX_LINE(id) {(id), 0, "max-line", "SIZE", "longest accepted input line (default 64MiB; see trainbox(1))", NULL}
/* Converts and checks its argument: at least 1 byte, at most 1TiB. */
int tb_opt_max_line(const struct tb_optparse *p, unsigned long long *out);
/* Options every command takes, and the store option group, from one table fragment each: put
 * TB_COMMON_OPTS in every command's table, TB_STORE_OPTS in every command that opens a store, and
 * TB_REQUEST_OPTS where it also makes requests (presign signs without one). Their ids are reserved
 * (>= TB_OPT_SHARED); a command hands ids it does not know to tb_common_opt or, when it opens
 * stores, to tb_store_opt (lib/store.h), which fills a struct tb_store_cfg. */
enum {
    TB_OPT_SHARED = 1000,
    TB_OPT_QUIET = TB_OPT_SHARED, TB_OPT_VERBOSE,
    TB_OPT_ENDPOINT, TB_OPT_REGION, TB_OPT_PROFILE,
    TB_OPT_RETRIES, TB_OPT_TIMEOUT,
};
#define TB_COMMON_OPTS \
    {TB_OPT_QUIET, 'q', "quiet", NULL, "no warnings or progress on stderr (errors are still printed)", NULL}, \
    {TB_OPT_VERBOSE, 'v', "verbose", NULL, "log every request and retry on stderr (secrets redacted)", NULL}
#define TB_STORE_OPTS \
    {TB_OPT_ENDPOINT, 0, "endpoint", "URL", "S3-compatible endpoint (default: TRAINBOX_S3_ENDPOINT, AWS_ENDPOINT_URL, AWS)", NULL}, \
    {TB_OPT_REGION, 0, "region", "REGION", "signing region (default: AWS_REGION, the profile, us-east-1)", NULL}, \
    {TB_OPT_PROFILE, 0, "profile", "NAME", "AWS profile for credentials and region (default: AWS_PROFILE)", NULL}
#define TB_REQUEST_OPTS \
    {TB_OPT_RETRIES, 0, "retries", "N", "attempts per request on transient errors (default 10; 1: no retry)", NULL}, \
    {TB_OPT_TIMEOUT, 0, "timeout", "SECONDS", "fail an attempt after this long without a byte or below 1KB/s (default 30)", NULL}

struct tb_common_cfg {
    int quiet;   /* -q: no warnings, no progress */
    int verbose; /* -v: requests and retries on stderr */
};
/* For an id from TB_COMMON_OPTS: record it in c and return 1; any other id: return 0. */
int tb_common_opt(const struct tb_optparse *p, int id, struct tb_common_cfg *c);
/* The progress mode a command should use: none when quiet. */
int tb_common_progress(const struct tb_common_cfg *c, int mode);

/* Parse "123", "4k", "64MiB", "1G": k/M/G/T are powers of 1000, KiB/MiB/GiB/TiB powers of 1024;
 * "K"/"KB" and the like too. Returns 0 or -1. */
int tb_parse_size(const char *s, unsigned long long *out);
int tb_parse_u64(const char *s, unsigned long long *out);

/* Completion scripts generated from a list of command specs. */
void tb_completion_print(const char *shell, const struct tb_cmd_spec *const *cmds, int n, FILE *out);
#endif
