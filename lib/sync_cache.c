/* sync_cache: the per-prefix metadata cache that spares a no-op sync its HEAD requests. */
#include "sync_cache.h"
#include "alloc.h"
#include "atomic.h"
#include "hash.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tb_sync_cache_note {
    char *key;                /* raw bytes */
    size_t klen;
    char *line;               /* the entry's line, or NULL: no entry (deleted, or unknown) */
    size_t seq;               /* the later note of one key wins */
};

char *tb_sync_cache_path(const char *id)
{
    const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char *base;
    if (x && *x) base = tb_xstrdup(x);
    else if (home && *home) base = tb_xasprintf("%s/.cache", home);
    else return NULL;
    char hex[65];
    tb_sha256_hex(id, strlen(id), hex);
    char *p = tb_xasprintf("%s/trainbox/sync/%s", base, hex);
    free(base);
    return p;
}

int tb_sync_cache_open(struct tb_sync_cache *c, const char *path, tb_err *e)
{
    memset(c, 0, sizeof *c);
    c->path = tb_xstrdup(path);
    char *dir = tb_xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    int rc = slash ? tb_mkdirs(dir, e) : 0;
    free(dir);
    if (rc) return rc;
    c->tmp = tb_xasprintf("%s.tmp.%ld", path, (long)getpid());
    c->out = fopen(c->tmp, "w");
    if (!c->out) return tb_fail_errno(e, TB_FROM_ERRNO_OUT, "cache %s", c->tmp);
    c->in = fopen(path, "r");
    c->in_eof = c->in == NULL;
    return 0;
}

static void put_key(FILE *f, const char *k, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)k[i];
        if (ch == '%' || ch == '\t' || ch == '\n' || ch == '\r') fprintf(f, "%%%02X", ch);
        else fputc(ch, f);
    }
}

/* Unescape the key field of line into c->key; returns the field's end, or NULL when malformed. */
static char *take_key(struct tb_sync_cache *c, char *s)
{
    c->klen = 0;
    for (; *s && *s != '\t'; s++) {
        tb_xgrow(&c->key, &c->kcap, c->klen + 1);
        if (*s == '%') {
            int hi = tb_hexval(s[1]), lo = hi < 0 ? -1 : tb_hexval(s[2]);
            if (lo < 0) return NULL;
            c->key[c->klen++] = (char)(hi << 4 | lo);
            s += 2;
        } else {
            c->key[c->klen++] = *s;
        }
    }
    return *s == '\t' ? s + 1 : NULL;
}

/* Copy the next tab- or newline-ended field into out (cap bytes); NULL when malformed. */
static char *field(char *s, char *out, size_t cap)
{
    size_t n = strcspn(s, "\t\n");
    if (n >= cap) return NULL;
    memcpy(out, s, n);
    out[n] = 0;
    return s[n] ? s + n + 1 : s + n;
}

/* The old file's next entry (a malformed line ends the file: a cache is never worth an error). */
static void advance(struct tb_sync_cache *c)
{
    c->have = 0;
    if (c->in_eof) return;
    ssize_t n = getline(&c->line, &c->cap, c->in);
    if (n <= 0) { c->in_eof = 1; return; }
    char sz[24], *s = take_key(c, c->line);
    if (!s || !(s = field(s, sz, sizeof sz)) || !(s = field(s, c->etag, sizeof c->etag)) ||
        !(s = field(s, c->mtime, sizeof c->mtime)) || !field(s, c->sha, sizeof c->sha)) {
        c->in_eof = 1;
        return;
    }
    c->size = strtoull(sz, NULL, 10);
    c->have = 1;
}

static int keycmp(const char *a, size_t na, const char *b, size_t nb)
{
    int r = na && nb ? memcmp(a, b, na < nb ? na : nb) : 0;
    return r ? r : (na > nb) - (na < nb);
}

int tb_sync_cache_lookup(struct tb_sync_cache *c, const char *key, size_t klen, uint64_t size, const char *etag,
                         char *mtime, char *sha)
{
    if (!c->have && !c->in_eof) advance(c);
    while (c->have && keycmp(c->key, c->klen, key, klen) < 0) advance(c);
    if (!c->have || keycmp(c->key, c->klen, key, klen) != 0 || c->size != size || !etag || !*etag ||
        strcmp(c->etag, etag) != 0)
        return 0;
    memcpy(mtime, c->mtime, sizeof c->mtime);
    memcpy(sha, c->sha, sizeof c->sha);
    return 1;
}

static void put_line(FILE *f, const char *key, size_t klen, uint64_t size, const char *etag, const char *mtime,
                     const char *sha)
{
    put_key(f, key, klen);
    fprintf(f, "\t%llu\t%s\t%s\t%s\n", (unsigned long long)size, etag ? etag : "", mtime ? mtime : "", sha ? sha : "");
}

void tb_sync_cache_put(struct tb_sync_cache *c, const char *key, size_t klen, uint64_t size, const char *etag,
                       const char *mtime, const char *sha)
{
    /* an entry without an ETag could never be matched again */
    if (c->out && etag && *etag) put_line(c->out, key, klen, size, etag, mtime, sha);
}

void tb_sync_cache_note(struct tb_sync_cache *c, const char *key, size_t klen, uint64_t size, const char *etag,
                        const char *mtime, const char *sha)
{
    tb_xgrow_n(&c->notes, &c->cnotes, c->nnotes + 1, sizeof *c->notes, 64);
    struct tb_sync_cache_note *n = &c->notes[c->nnotes];
    n->key = tb_xstrndup(key, klen);
    n->klen = klen;
    n->seq = c->nnotes++;
    n->line = NULL;
    if (etag && *etag) {
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        if (!m) tb_oom(0);
        put_line(m, key, klen, size, etag, mtime, sha);
        fclose(m);
        n->line = buf;
    }
}

static int note_cmp(const void *a, const void *b)
{
    const struct tb_sync_cache_note *x = a, *y = b;
    int r = keycmp(x->key, x->klen, y->key, y->klen);
    return r ? r : (x->seq > y->seq) - (x->seq < y->seq);
}

int tb_sync_cache_commit(struct tb_sync_cache *c, tb_err *e)
{
    if (!c->out) return 0;
    if (fflush(c->out) != 0 || ferror(c->out) || c->failed) return tb_fail_errno(e, TB_EIO, "writing %s", c->tmp);
    if (c->nnotes) qsort(c->notes, c->nnotes, sizeof *c->notes, note_cmp);
    /* merge what was served (sorted) with this pass's notes (sorted; the last of a key wins) */
    FILE *served = fopen(c->tmp, "r");
    char *final = tb_xasprintf("%s.new", c->tmp);
    FILE *out = served ? fopen(final, "w") : NULL;
    int rc = 0;
    if (!out) rc = tb_fail_errno(e, TB_EIO, "cache %s", final);
    else {
        struct tb_sync_cache rd;
        memset(&rd, 0, sizeof rd);
        rd.in = served;
        advance(&rd);
        size_t i = 0;
        while (rd.have || i < c->nnotes) {
            int cmp = !rd.have ? 1 : i >= c->nnotes ? -1 : keycmp(rd.key, rd.klen, c->notes[i].key, c->notes[i].klen);
            if (cmp < 0) {
                put_line(out, rd.key, rd.klen, rd.size, rd.etag, rd.mtime, rd.sha);
                advance(&rd);
                continue;
            }
            size_t j = i;
            while (j + 1 < c->nnotes && keycmp(c->notes[j + 1].key, c->notes[j + 1].klen, c->notes[i].key, c->notes[i].klen) == 0) j++;
            if (c->notes[j].line) fputs(c->notes[j].line, out);
            if (cmp == 0) advance(&rd);
            i = j + 1;
        }
        free(rd.line);
        free(rd.key);
        if (fflush(out) != 0 || ferror(out) || fsync(fileno(out)) != 0) rc = tb_fail_errno(e, TB_EIO, "writing %s", final);
        fclose(out);
        if (!rc && rename(final, c->path) != 0) rc = tb_fail_errno(e, TB_EIO, "rename %s", final);
        if (rc) unlink(final);
    }
    if (served) fclose(served);
    free(final);
    return rc;
}

void tb_sync_cache_close(struct tb_sync_cache *c)
{
    if (c->in) fclose(c->in);
    if (c->out) fclose(c->out);
    if (c->tmp) unlink(c->tmp);
    for (size_t i = 0; i < c->nnotes; i++) {
        free(c->notes[i].key);
        free(c->notes[i].line);
    }
    free(c->notes);
    free(c->line);
    free(c->key);
    free(c->path);
    free(c->tmp);
    memset(c, 0, sizeof *c);
}
