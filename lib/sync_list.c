/* synclist: a local directory or a store prefix as one of sync's name-ordered listings. */
#include "sync_list.h"
#include "alloc.h"
#include "mtime.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

static int is_skipped_name(const struct tb_synclist *l, const char *path, size_t len)
{
    if (!l->skip_name) return 0;
    const char *slash = memrchr(path, '/', len);
    const char *base = slash ? slash + 1 : path;
    size_t blen = len - (size_t)(base - path);
    return blen == strlen(l->skip_name) && memcmp(base, l->skip_name, blen) == 0;
}

/* ---- a local directory */

int tb_synclist_open_dir(struct tb_synclist *l, const char *root, tb_err *e)
{
    int rc = tb_walk_open(&l->walk, root, e);
    if (!rc) l->local = 1;
    return rc;
}

static int dir_next(struct tb_synclist *l, struct tb_sync_entry *out, int *eof, tb_err *e)
{
    (void)e;
    struct tb_walk_ent ent;
    while (tb_walk_next(&l->walk, &ent)) {
        switch (ent.type) {
        case TB_WALK_DIR: continue;
        case TB_WALK_SYMLINK:
            l->skipped_links++;
            if (!l->quiet) fprintf(stderr, "trainbox %s: skipping symlink %s (links are never followed)\n", l->cmd, ent.full);
            continue;
        case TB_WALK_OTHER:
            l->skipped_other++;
            if (!l->quiet) fprintf(stderr, "trainbox %s: skipping %s (not a regular file)\n", l->cmd, ent.full);
            continue;
        case TB_WALK_ERROR:
            l->errors++;
            l->incomplete = 1;
            fprintf(stderr, "trainbox %s: cannot list %s: %s\n", l->cmd, ent.full, strerror(ent.err));
            continue;
        case TB_WALK_FILE: break;
        }
        if (ends_with(ent.path, ent.len, ".partial") || is_skipped_name(l, ent.path, ent.len)) continue;
        memset(out, 0, sizeof *out);
        out->path = ent.path;
        out->len = ent.len;
        out->size = ent.size;
        out->mtime = ent.mtime;
        out->mtime_known = 1;
        l->listed++;
        return 0;
    }
    *eof = 1;
    return 0;
}

/* ---- a store prefix */

void tb_synclist_open_store(struct tb_synclist *l, struct tb_store *s, const char *prefix)
{
    l->local = 0;
    l->store = s;
    l->prefix = tb_xstrdup(prefix ? prefix : "");
    l->plen = strlen(l->prefix);
}

struct head_wait { size_t pending; };

static void head_done(struct tb_store_req *r) { ((struct head_wait *)r->ud)->pending--; }

static void clear_page(struct tb_synclist *l)
{
    if (l->have_page) {
        for (size_t i = 0; i < l->page.nitems && l->heads_r; i++)
            if (l->heads_r[i].key) tb_store_req_clear(&l->heads_r[i]);
        tb_store_req_clear(&l->page);
    }
    l->have_page = 0;
    l->idx = 0;
}

/* Does this listed object need a HEAD for its metadata? */
static int wants_head(const struct tb_synclist *l, const struct tb_obj_info *it)
{
    size_t n = strlen(it->key);
    if (!l->want_meta || it->meta_mtime[0] || n <= l->plen || it->key[n - 1] == '/') return 0;
    return !is_skipped_name(l, it->key + l->plen, n - l->plen);
}

static int fetch_page(struct tb_synclist *l, tb_err *e)
{
    clear_page(l);
    memset(&l->page, 0, sizeof l->page);
    l->page.op = TB_OP_LIST;
    l->page.prefix = l->prefix;
    l->page.token = l->token;
    int rc = tb_store_run(l->store, &l->page, e);
    l->have_page = 1;
    if (rc == TB_ENOINPUT && l->missing_code) rc = e->code = l->missing_code;
    if (rc) return rc;
    free(l->token);
    l->token = l->page.next_token ? tb_xstrdup(l->page.next_token) : NULL;
    l->last_page = l->token == NULL;
    size_t n = l->page.nitems;
    if (!l->want_meta || !n) return 0;
    tb_xgrow_n(&l->heads_r, &l->heads_cap, n, sizeof *l->heads_r, 64);
    memset(l->heads_r, 0, n * sizeof *l->heads_r);
    struct head_wait w = {0};
    for (size_t i = 0; i < n; i++) {
        const struct tb_obj_info *it = &l->page.items[i];
        if (!wants_head(l, it)) continue;
        struct tb_store_req *h = &l->heads_r[i];
        h->op = TB_OP_HEAD;
        h->key = it->key;
        if (l->cache && tb_sync_cache_lookup(l->cache, it->key + l->plen, strlen(it->key) - l->plen, it->size, it->etag,
                                             h->info.meta_mtime, h->info.sha256)) {
            h->info.exists = 1; /* answered by the cache: no request */
            l->cached++;
            continue;
        }
        h->done = head_done;
        h->ud = &w;
        w.pending++;
        l->heads++;
        if (tb_store_submit(l->store, h)) w.pending--; /* a malformed request: its status says why */
    }
    while (w.pending > 0) tb_store_perform(l->store, 100);
    for (size_t i = 0; i < n; i++) {
        struct tb_store_req *h = &l->heads_r[i];
        if (h->key && h->status) {
            *e = h->err;
            return h->status;
        }
    }
    return 0;
}

static int store_next(struct tb_synclist *l, struct tb_sync_entry *out, int *eof, tb_err *e)
{
    for (;;) {
        if (!l->have_page || l->idx >= l->page.nitems) {
            if (l->have_page && l->last_page) { *eof = 1; return 0; }
            int rc = fetch_page(l, e);
            if (rc) { l->incomplete = 1; return rc; }
            if (!l->page.nitems && l->last_page) { *eof = 1; return 0; }
            continue;
        }
        size_t i = l->idx++;
        const struct tb_obj_info *it = &l->page.items[i];
        size_t n = strlen(it->key);
        if (n <= l->plen || memcmp(it->key, l->prefix, l->plen) != 0 || it->key[n - 1] == '/') continue;
        const char *rel = it->key + l->plen;
        if (is_skipped_name(l, rel, n - l->plen)) continue;
        const struct tb_obj_info *meta = it;
        if (l->heads_r && l->heads_r[i].key) {
            meta = &l->heads_r[i].info;
            if (!meta->exists) continue; /* deleted between the listing and the HEAD */
        }
        memset(out, 0, sizeof *out);
        out->path = rel;
        out->len = n - l->plen;
        out->size = it->size;
        const char *mm = meta->meta_mtime[0] ? meta->meta_mtime : it->meta_mtime;
        if (mm[0] && tb_mtime_parse(mm, &out->mtime) == 0) out->mtime_known = 1;
        else if (it->mtime > 0) { out->mtime.tv_sec = it->mtime; out->mtime_known = 1; }
        const char *sha = meta->sha256[0] ? meta->sha256 : it->sha256;
        if (sha[0]) { memcpy(l->shabuf, sha, 65); out->sha256 = l->shabuf; }
        if (l->cache) tb_sync_cache_put(l->cache, rel, out->len, it->size, it->etag, mm, sha);
        l->listed++;
        return 0;
    }
}

static int next_cb(void *ctx, struct tb_sync_entry *out, int *eof, tb_err *e)
{
    struct tb_synclist *l = ctx;
    if (l->local < 0) { *eof = 1; return 0; }
    return l->local ? dir_next(l, out, eof, e) : store_next(l, out, eof, e);
}

struct tb_sync_stream tb_synclist_stream(struct tb_synclist *l)
{
    return (struct tb_sync_stream){next_cb, l};
}

void tb_synclist_close(struct tb_synclist *l)
{
    if (l->local > 0) tb_walk_close(&l->walk);
    else if (l->local == 0 && l->store) {
        clear_page(l);
        free(l->heads_r);
        free(l->token);
        free(l->prefix);
    }
    l->heads_r = NULL;
    l->token = l->prefix = NULL;
}
