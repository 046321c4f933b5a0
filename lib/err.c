/* err: error values, their printing, and redaction of secrets in anything printed. */
#include "err.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int vset(tb_err *e, int code, const char *fmt, va_list ap)
{
    if (e) {
        e->code = code;
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    }
    return code;
}

int tb_fail(tb_err *e, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(e, code, fmt, ap);
    va_end(ap);
    return code;
}

int tb_fail_errno(tb_err *e, int code, const char *fmt, ...)
{
    int saved = errno;
    if (code == 0 || code == TB_FROM_ERRNO_OUT) {
        int out = code == TB_FROM_ERRNO_OUT;
        switch (saved) {
        case ENOENT: case ENOTDIR: code = out ? TB_ECANTCREAT : TB_ENOINPUT; break;
        case EEXIST: code = out ? TB_ECANTCREAT : TB_EIO; break;
        case EACCES: case EPERM: case EROFS: code = TB_ENOPERM; break;
        default: code = TB_EIO; break;
        }
    }
    if (!e) return code;
    va_list ap;
    va_start(ap, fmt);
    vset(e, code, fmt, ap);
    va_end(ap);
    size_t n = strlen(e->msg);
    snprintf(e->msg + n, sizeof e->msg - n, ": %s", strerror(saved));
    return code;
}

int tb_err_wrap(tb_err *e, const char *fmt, ...)
{
    if (!e) return 0;
    char old[sizeof e->msg], pre[512];
    memcpy(old, e->msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    /* truncation of an over-long message is fine: it is for humans */
    size_t n = strlen(pre);
    if (n > sizeof e->msg - 3) n = sizeof e->msg - 3;
    memcpy(e->msg, pre, n);
    memcpy(e->msg + n, ": ", 2);
    n += 2;
    size_t ol = strnlen(old, sizeof old);
    if (ol > sizeof e->msg - 1 - n) ol = sizeof e->msg - 1 - n;
    memcpy(e->msg + n, old, ol);
    e->msg[n + ol] = 0;
    return e->code;
}

int tb_report(const char *cmd, const tb_err *e)
{
    char buf[sizeof e->msg];
    memcpy(buf, e->msg, sizeof buf);
    tb_redact(buf);
    fprintf(stderr, "trainbox %s: %s\n", cmd, buf);
    return e->code ? e->code : TB_ESOFTWARE;
}

/* One line "trainbox CMD: TEXT" on stderr ("trainbox: TEXT" for usage errors without a command);
 * warnings are redacted, usage text is the user's own words. */
static void vsay(const char *cmd, int is_usage, const char *fmt, va_list ap)
{
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    if (!is_usage) tb_redact(buf);
    if (is_usage && !(cmd && *cmd)) fprintf(stderr, "trainbox: %s\n", buf);
    else fprintf(stderr, "trainbox %s: %s\n", cmd, buf);
}

int tb_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(cmd, 1, fmt, ap);
    va_end(ap);
    if (cmd && *cmd) fprintf(stderr, "try 'trainbox %s --help'\n", cmd);
    else fprintf(stderr, "try 'trainbox --help'\n");
    return TB_EUSAGE;
}

void tb_warn(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(cmd, 0, fmt, ap);
    va_end(ap);
}

/* Replace the value starting at p (up to a byte in stop) by "***" in place; never grows the string,
 * so it is safe on fixed buffers. */
static void blank_value(char *p, const char *stop)
{
    size_t n = strcspn(p, stop);
    if (n == 0 || (n == 3 && memcmp(p, "***", 3) == 0)) return;
    size_t rl = n < 3 ? n : 3;
    memset(p, '*', rl);
    memmove(p + rl, p + n, strlen(p + n) + 1);
}

static char *find_ci(char *s, const char *needle)
{
    size_t nl = strlen(needle);
    for (; *s; s++)
        if (strncasecmp(s, needle, nl) == 0) return s;
    return NULL;
}

void tb_redact(char *s)
{
    static const char *query_keys[] = {
        "X-Amz-Signature=", "X-Amz-Credential=", "X-Amz-Security-Token=", "sig=",
        "token=", "access_token=", "api_key=", "SharedKey ", "AccountKey=", "Signature=", NULL,
    };
    static const char *headers[] = {
        "Authorization:", "x-amz-security-token:", "Proxy-Authorization:", "Cookie:", NULL,
    };
    for (int i = 0; headers[i]; i++) {
        char *p = s;
        while ((p = find_ci(p, headers[i]))) {
            p += strlen(headers[i]);
            while (*p == ' ') p++;
            blank_value(p, "\r\n");
            p += 1;
        }
    }
    for (int i = 0; query_keys[i]; i++) {
        char *p = s;
        while ((p = find_ci(p, query_keys[i]))) {
            p += strlen(query_keys[i]);
            blank_value(p, "&; \"'\r\n,");
            p += 1;
        }
    }
    char *p = s;
    while ((p = find_ci(p, "Bearer "))) {
        p += 7;
        blank_value(p, " \"'\r\n,");
        p += 1;
    }
    /* AWS credential-looking strings: AKIA/ASIA + 16 uppercase alnum */
    for (p = s; *p; p++) {
        if ((strncmp(p, "AKIA", 4) == 0 || strncmp(p, "ASIA", 4) == 0) && (p == s || !isalnum((unsigned char)p[-1]))) {
            int k = 4;
            while (k < 20 && (isupper((unsigned char)p[k]) || isdigit((unsigned char)p[k]))) k++;
            if (k == 20 && !isalnum((unsigned char)p[20])) memset(p + 4, '*', 16);
        }
    }
}
