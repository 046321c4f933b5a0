/* azxml: List Blobs pages through expat (see azxml.h). */
#include "azxml.h"
#include "alloc.h"
#include "hash.h"
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { E_OTHER, E_ENUM, E_BLOBS, E_BLOB, E_PREFIX, E_NAME, E_PROPS, E_LEN, E_MD5, E_ETAG, E_MTIME, E_META,
       E_SHA256, E_MARKER, E_METAMTIME };

struct lp {
    XML_Parser xp;
    int depth;
    unsigned char path[8]; /* element kinds from EnumerationResults down */
    char *text;
    size_t ntext, captext;
    int encoded;           /* Name Encoded="true" */
    char *name;
    size_t capname;
    struct tb_azxml_entry ent;
    char *marker;
    tb_azxml_cb cb;
    void *ctx;
    int rc;
};

static unsigned char kind(const char *s)
{
    static const char *const names[] = {"", "EnumerationResults", "Blobs", "Blob", "BlobPrefix", "Name",
                                        "Properties", "Content-Length", "Content-MD5", "Etag", "Last-Modified",
                                        "Metadata", "sha256", "NextMarker", "mtime"};
    for (unsigned i = 1; i < sizeof names / sizeof *names; i++)
        if (strcmp(s, names[i]) == 0) return (unsigned char)i;
    return E_OTHER;
}

/* Is the current element (at l->depth) reached by exactly the path want[0..n-1]? */
static int at(const struct lp *l, int n, const unsigned char *want)
{
    if (l->depth != n || n > 8) return 0;
    for (int i = 0; i < n; i++)
        if (l->path[i] != want[i]) return 0;
    return 1;
}

static void keep(char *dst, size_t cap, const char *v)
{
    size_t n = strlen(v);
    if (n >= cap) n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = 0;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    struct lp *l = ud;
    if (l->depth < 8) l->path[l->depth] = kind(name);
    l->depth++;
    l->ntext = 0;
    l->encoded = 0;
    for (int i = 0; attrs[i]; i += 2)
        if (strcmp(attrs[i], "Encoded") == 0 && strcmp(attrs[i + 1], "true") == 0) l->encoded = 1;
    static const unsigned char blob[] = {E_ENUM, E_BLOBS, E_BLOB}, pref[] = {E_ENUM, E_BLOBS, E_PREFIX};
    if (at(l, 3, blob) || at(l, 3, pref)) {
        memset(&l->ent, 0, sizeof l->ent);
        if (l->name) l->name[0] = 0;
    }
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    struct lp *l = ud;
    tb_xgrow_n(&l->text, &l->captext, l->ntext + (size_t)len + 1, 1, 256);
    memcpy(l->text + l->ntext, s, (size_t)len);
    l->ntext += (size_t)len;
    l->text[l->ntext] = 0;
}

static void set_name(struct lp *l, const char *s)
{
    size_t n = strlen(s);
    tb_xgrow_n(&l->name, &l->capname, n + 1, 1, 64);
    char *q = l->name;
    for (size_t i = 0; i < n; i++) {
        int h, lo;
        if (l->encoded && s[i] == '%' && i + 2 < n && (h = tb_hexval(s[i + 1])) >= 0 && (lo = tb_hexval(s[i + 2])) >= 0) {
            *q++ = (char)(h * 16 + lo);
            i += 2;
        } else {
            *q++ = s[i];
        }
    }
    *q = 0;
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    struct lp *l = ud;
    (void)name;
    const char *t = l->ntext ? l->text : "";
    static const unsigned char blobname[] = {E_ENUM, E_BLOBS, E_BLOB, E_NAME},
                               prefname[] = {E_ENUM, E_BLOBS, E_PREFIX, E_NAME},
                               blob[] = {E_ENUM, E_BLOBS, E_BLOB}, pref[] = {E_ENUM, E_BLOBS, E_PREFIX},
                               marker[] = {E_ENUM, E_MARKER};
    if (at(l, 4, blobname) || at(l, 4, prefname)) {
        set_name(l, t);
    } else if (l->depth == 5 && l->path[0] == E_ENUM && l->path[1] == E_BLOBS && l->path[2] == E_BLOB) {
        struct tb_azxml_entry *x = &l->ent;
        if (l->path[3] == E_PROPS) {
            switch (l->path[4]) {
            case E_LEN: x->size = strtoull(t, NULL, 10); break;
            case E_MD5: keep(x->md5_b64, sizeof x->md5_b64, t); break;
            case E_ETAG: keep(x->etag, sizeof x->etag, t); break;
            case E_MTIME: keep(x->last_modified, sizeof x->last_modified, t); break;
            default: break;
            }
        } else if (l->path[3] == E_META && l->path[4] == E_SHA256) {
            keep(x->sha256, sizeof x->sha256, t);
        } else if (l->path[3] == E_META && l->path[4] == E_METAMTIME) {
            keep(x->mtime, sizeof x->mtime, t);
        }
    } else if ((at(l, 3, blob) || at(l, 3, pref)) && !l->rc) {
        l->ent.name = l->name ? l->name : "";
        l->ent.is_prefix = at(l, 3, pref);
        l->rc = l->cb(l->ctx, &l->ent);
        if (l->rc) XML_StopParser(l->xp, 0);
    } else if (at(l, 2, marker)) {
        free(l->marker);
        l->marker = *t ? tb_xstrdup(t) : NULL;
    }
    l->ntext = 0;
    l->depth--;
}

int tb_azxml_list(const char *body, size_t len, tb_azxml_cb cb, void *ctx, char **next_marker, tb_err *e)
{
    struct lp l;
    memset(&l, 0, sizeof l);
    l.cb = cb;
    l.ctx = ctx;
    *next_marker = NULL;
    l.xp = XML_ParserCreate("UTF-8");
    if (!l.xp) tb_oom(sizeof l); /* expat fails to create a parser only when out of memory */
    XML_SetUserData(l.xp, &l);
    XML_SetElementHandler(l.xp, on_start, on_end);
    XML_SetCharacterDataHandler(l.xp, on_text);
    int rc = 0;
    /* expat takes an int length; pages are a few MiB at most, but feed in slices anyway */
    enum XML_Status st = XML_STATUS_OK;
    size_t off = 0;
    do {
        size_t n = len - off > (1u << 30) ? (1u << 30) : len - off;
        st = XML_Parse(l.xp, body + off, (int)n, off + n == len);
        off += n;
    } while (st == XML_STATUS_OK && off < len);
    if (l.rc) rc = l.rc;
    else if (st != XML_STATUS_OK)
        rc = tb_fail(e, TB_EUNAVAIL, "bad List Blobs XML from the service: %s (line %lu)",
                     XML_ErrorString(XML_GetErrorCode(l.xp)), (unsigned long)XML_GetCurrentLineNumber(l.xp));
    XML_ParserFree(l.xp);
    if (!rc) *next_marker = l.marker;
    else free(l.marker);
    free(l.text);
    free(l.name);
    return rc;
}
