/* The HTTP backends' COPY with new metadata (S3 CopyObject with REPLACE, Azure Copy Blob with
 * metadata): both drop the source's metadata unless it is sent again, so the source is read first
 * (a HEAD) and its metadata headers kept here until the copy itself is built and finished. What
 * differs per backend is only the header prefix (x-amz-meta-, x-ms-meta-). */
#include "alloc.h"
#include "store.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int tb_store_copy_replaces(const struct tb_store_req *r)
{
    return (r->sha256 && *r->sha256) || (r->meta_mtime && *r->meta_mtime);
}

int tb_store_copysrc_head_first(struct tb_store_copysrc *c, const struct tb_store_req *r)
{
    c->head_sent = tb_store_copy_replaces(r) && !c->known;
    return c->head_sent;
}

int tb_store_copysrc_read(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h,
                          struct tb_store_copysrc *c, const char *prefix, tb_err *e)
{
    c->head_sent = 0;
    if (h->cls == TB_HTTP_NOTFOUND) {
        char *d = tb_store_uri(s, r->key), *src = tb_store_uri(s, r->copy_src);
        tb_fail(e, TB_ENOINPUT, "COPY %s: the source %s does not exist", d, src);
        free(d);
        free(src);
        return TB_ENOINPUT;
    }
    if (h->cls != TB_HTTP_OK) return tb_store_http_error(s, r, h, e);
    /* every PREFIX* header of the answer, names lower-cased as both signers sign them */
    size_t pl = strlen(prefix);
    char v[1024];
    for (const char *p = h->resp_hdrs; p && *p && c->nmeta < TB_STORE_COPY_META_MAX;) {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        if (colon && (size_t)(colon - p) > pl && strncasecmp(p, prefix, pl) == 0) {
            char *name = tb_xstrndup(p, (size_t)(colon - p));
            for (char *q = name; *q; q++) *q = (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
            if (tb_http_resp_header(h, name, v, sizeof v) == 0) {
                c->meta[c->nmeta][0] = name;
                c->meta[c->nmeta][1] = tb_xstrdup(v);
                c->nmeta++;
            } else {
                free(name);
            }
        }
        p += len + (eol ? 2 : 0);
    }
    c->known = 1;
    return 0;
}

const char *tb_store_copysrc_get(const struct tb_store_copysrc *c, const char *name)
{
    for (int i = 0; i < c->nmeta; i++)
        if (!strcmp(c->meta[i][0], name)) return c->meta[i][1];
    return NULL;
}

int tb_store_copysrc_resent(const struct tb_store_copysrc *c, const struct tb_store_req *r, int i, const char *prefix)
{
    const char *n = c->meta[i][0];
    size_t pl = strlen(prefix);
    if (strncmp(n, prefix, pl) != 0) return 0;
    return (r->sha256 && *r->sha256 && !strcmp(n + pl, "sha256")) ||
           (r->meta_mtime && *r->meta_mtime && !strcmp(n + pl, "mtime"));
}

void tb_store_copysrc_free(struct tb_store_copysrc *c)
{
    for (int i = 0; i < c->nmeta; i++) {
        free(c->meta[i][0]);
        free(c->meta[i][1]);
    }
    c->nmeta = 0;
}

void tb_store_take_body(struct tb_store_req *r, struct tb_http_req *h)
{
    r->data = h->resp ? h->resp : tb_xstrdup("");
    r->data_len = h->resp_len;
    h->resp = NULL;
    h->resp_len = 0;
}
