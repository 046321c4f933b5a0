/* err: the exit codes of DESIGN.md and the error value every library function fills.
 * Library code never prints; a subcommand prints an error once, at the top, with tb_report(). */
#ifndef TB_ERR_H
#define TB_ERR_H
#include <stdarg.h>

enum tb_exit {
    TB_OK = 0,
    TB_EPARTIAL = 1,   /* some items failed, the rest done */
    TB_EUSAGE = 64,    /* bad command line */
    TB_EDATA = 65,     /* bad input data */
    TB_ENOINPUT = 66,  /* input missing */
    TB_EUNAVAIL = 69,  /* service unavailable (or command not built yet) */
    TB_ESOFTWARE = 70, /* internal error */
    TB_ECANTCREAT = 73,/* an output cannot be created (its directory or destination bucket is missing) */
    TB_EIO = 74,       /* local I/O error */
    TB_ETEMPFAIL = 75, /* temporary failure worth retrying */
    TB_ENOPERM = 77,   /* permission or credentials refused */
};

typedef struct tb_err {
    int code;        /* one of enum tb_exit; 0 when no error */
    char msg[1024];  /* "what failed: why (where)" without the "trainbox NAME: " prefix */
} tb_err;

/* Set *e (may be NULL) and return code. */
int tb_fail(tb_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Like tb_fail, appending ": strerror(errno)". code 0 picks from errno for a failed INPUT (ENOENT,
 * ENOTDIR -> 66; EACCES, EPERM, EROFS -> 77; otherwise 74); code TB_FROM_ERRNO_OUT picks for a failed
 * OUTPUT, a file or directory being created or written (ENOENT, ENOTDIR, EEXIST -> 73: its directory
 * is missing or not a directory; EACCES, EPERM, EROFS -> 77; otherwise, ENOSPC among them, 74). */
#define TB_FROM_ERRNO_OUT (-1)
int tb_fail_errno(tb_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prefix the existing message with more context: "ctx: old message". */
int tb_err_wrap(tb_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "trainbox CMD: msg" on stderr (secrets redacted) and return e->code. */
int tb_report(const char *cmd, const tb_err *e);
/* Print a usage error line plus the --help hint; returns TB_EUSAGE. */
int tb_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print a warning line "trainbox CMD: msg" on stderr. */
void tb_warn(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Replace secrets in s, in place: Authorization header values, X-Amz-Signature / sig= / token=
 * / X-Amz-Credential / X-Amz-Security-Token query values, and "Bearer ..." tokens. */
void tb_redact(char *s);
#endif
