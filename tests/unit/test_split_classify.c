/* classify: the block classifier hands out what split's per-line path would decide, line by line
 * (lib/split's tb_keyer on each line, its split and hash rank), on random inputs full of block-edge
 * cases (empty lines, lone "\r", CRLF, lines longer than a block or than max_line, keys with
 * escapes, lines that are not objects or not JSON, no final newline), at block sizes from 1 byte
 * up, on one thread and two; a callback's error stops the run; a file that shrinks is an error. */
#include "split_classify.h"
#include "hash.h"
#include "tap.h"
#include "testutil.h"
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void) { return tu_xorshift(&rng); }

/* One random line (without its newline) of the kinds split meets. */
static size_t gen_line(char *p, size_t cap)
{
    int n = 0;
    switch (rnd() % 14) {
    case 0: return 0;                                                          /* empty */
    case 1: p[0] = '\r'; return 1;                                             /* lone \r */
    case 2: n = snprintf(p, cap, "plain text %llu", (unsigned long long)(rnd() % 1000)); break; /* not JSON */
    case 3: n = snprintf(p, cap, "{\"__key__\":\"bad"); break;                  /* invalid JSON */
    case 4: n = snprintf(p, cap, "{\"x\":%llu}", (unsigned long long)(rnd() % 100)); break; /* no key */
    case 5: n = snprintf(p, cap, "{\"__key__\":%llu,\"id\":\"i%llu\"}", (unsigned long long)(rnd() % 500),
                         (unsigned long long)(rnd() % 50)); break;           /* number key */
    case 6: n = snprintf(p, cap, "  {\"__key__\":\"a\\n\\u00e9%llu\"}", (unsigned long long)(rnd() % 50)); break; /* escapes */
    case 7: n = snprintf(p, cap, "{\"__key__\":{\"o\":1}}"); break;             /* key not a string */
    case 8: {                                                                  /* long: past max_line at times */
        size_t k = 100 + rnd() % 400;
        n = snprintf(p, cap, "{\"__key__\":\"L%llu\",\"t\":\"", (unsigned long long)(rnd() % 20));
        memset(p + n, 'x', k);
        n += (int)k;
        n += snprintf(p + n, cap - (size_t)n, "\"}");
        break;
    }
    default: n = snprintf(p, cap, "{\"__key__\":\"s%06llu\",\"id\":%llu,\"v\":[1,2]}", (unsigned long long)(rnd() % 100000),
                          (unsigned long long)(rnd() % 30)); break;
    }
    if (rnd() % 5 == 0) p[n++] = '\r';                                         /* CRLF */
    return (size_t)n;
}

/* The events of a run as text, to compare. */
struct rec {
    char *p;
    size_t len, cap;
    uint64_t items, ticks;
    int fail_at;    /* return TB_EDATA from the callback for this item (1-based), 0: never */
    int truncate_at; /* cut the file at this item, and read the line after */
    int fd;
};

static void add(struct rec *r, const char *fmt, const char *line, size_t len, uint64_t a, uint64_t b)
{
    char head[64];
    int h = snprintf(head, sizeof head, fmt, (unsigned long long)a, (unsigned long long)b);
    while (r->len + (size_t)h + len + 2 > r->cap) {
        r->cap = r->cap ? r->cap * 2 : 65536;
        r->p = realloc(r->p, r->cap);
    }
    memcpy(r->p + r->len, head, (size_t)h);
    r->len += (size_t)h;
    memcpy(r->p + r->len, line, len);
    r->len += len;
    r->p[r->len++] = '\n';
}

static int item(struct rec *r, tb_err *e)
{
    r->items++;
    if (r->truncate_at && (int)r->items == r->truncate_at && ftruncate(r->fd, 0)) return tb_fail(e, TB_EIO, "truncate");
    if (r->fail_at && (int)r->items == r->fail_at) return tb_fail(e, TB_EDATA, "stop at item %llu", (unsigned long long)r->items);
    return 0;
}

static int on_line(void *ud, const char *line, size_t len, int split, uint32_t rank, tb_err *e)
{
    struct rec *r = ud;
    int rc = item(r, e);
    if (rc) return rc;
    add(r, "L %llu %llu ", line, len, (uint64_t)split, rank);
    return 0;
}

static int on_serial(void *ud, const char *line, size_t len, uint64_t lineno, tb_err *e)
{
    struct rec *r = ud;
    int rc = item(r, e);
    if (rc) return rc;
    add(r, "S %llu ", line, len, lineno, 0);
    return 0;
}

static int on_long(void *ud, uint64_t lineno, uint64_t bytes, tb_err *e)
{
    struct rec *r = ud;
    int rc = item(r, e);
    if (rc) return rc;
    add(r, "T %llu %llu", "", 0, lineno, bytes);
    return 0;
}

static void on_tick(void *ud, uint64_t items, uint64_t bytes)
{
    struct rec *r = ud;
    (void)bytes;
    if (items % 1024 == 0) r->ticks++;
}

/* The reference: the lines one by one, each through a fresh look-up as split's per-line path does. */
static void reference(const struct tb_classify *cl, const char *p, size_t n, struct rec *out)
{
    struct tb_keyer k;
    tb_keyer_init(&k, cl->keyfield, cl->need_object);
    size_t ls = 0;
    uint64_t lineno = 0;
    tb_err e;
    while (ls < n) {
        const char *q = memchr(p + ls, '\n', n - ls);
        size_t end = q ? (size_t)(q - p) : n, len = end - ls;
        lineno++;
        if (len > cl->max_line) {
            on_long(out, lineno, len, &e);
        } else {
            if (len && p[ls + len - 1] == '\r') len--;
            const char *key;
            size_t klen;
            if (!len) {
                /* no item */
            } else if (tb_keyer_find(&k, p + ls, len, &key, &klen, &e)) {
                on_serial(out, p + ls, len, lineno, &e);
            } else {
                int s = cl->ratio ? tb_ratio_pick(cl->ratio, tb_siphash24(cl->key_split, key, klen)) : 0;
                uint32_t rh = cl->by_hash ? tb_hash_below(tb_siphash24(cl->key_rank, key, klen), cl->world) : 0;
                on_line(out, p + ls, len, s, rh, &e);
            }
        }
        ls = end + 1;
    }
    tb_keyer_free(&k);
}

static int run(int fd, uint64_t off, size_t len, struct tb_classify *cl, struct rec *r, tb_err *e)
{
    struct tb_map m;
    if (tb_map_open(&m, fd, off, len, "f.jsonl", e)) return -1;
    cl->ud = r;
    r->fd = fd;
    int rc = tb_classify_map(&m, cl, e);
    tb_map_close(&m);
    return rc;
}

static void setup(struct tb_classify *cl, const struct tb_ratio *ratio)
{
    memset(cl, 0, sizeof *cl);
    cl->line = on_line;
    cl->serial = on_serial;
    cl->too_long = on_long;
    cl->tick = on_tick;
    cl->ratio = ratio;
    tb_split_key(7, TB_HASH_SPLIT, cl->key_split);
    tb_split_key(7, TB_HASH_RANK, cl->key_rank);
    cl->max_line = 1u << 20;
}

/* A whole-file run with the usual setup at this block size and thread count (got set by the caller). */
static int run_whole(int fd, size_t n, const struct tb_ratio *ratio, size_t block, int threads, struct tb_classify *cl,
                     struct rec *got, tb_err *e)
{
    setup(cl, ratio);
    cl->block = block;
    cl->threads = threads;
    return run(fd, 0, n, cl, got, e);
}

int main(void)
{
    char path[] = "/tmp/tb-classify-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "temp file");
    unlink(path);
    struct tb_ratio ratio;
    tb_err e = {0};
    CHECK(tb_ratio_parse("train=90,val=5,test=5", &ratio, &e) == 0, "ratio");
    size_t cap = 400000;
    char *data = malloc(cap);
    static const size_t blocks[] = {1, 7, 64, 1000, 65536, 0};
    int mismatches = 0, runs = 0, rounds = getenv("TB_VALGRIND") ? 12 : 120;
    uint64_t kinds[3] = {0}; /* lines, serial, too long: the reference saw each kind */
    for (int t = 0; t < rounds; t++) {
        size_t n = 0, target = t < 10 ? (size_t)t * 3 : rnd() % (t < 100 ? 20000 : cap - 1000);
        while (n < target) {
            n += gen_line(data + n, cap - n);
            data[n++] = '\n';
        }
        if (n && rnd() % 3 == 0) n--; /* no final newline */
        if (ftruncate(fd, 0) || pwrite(fd, data, n, 0) != (ssize_t)n) { CHECK(0, "write temp"); break; }
        size_t off = n && rnd() % 4 == 0 ? rnd() % (n / 4 + 1) : 0;
        struct tb_classify cl;
        setup(&cl, rnd() % 4 ? &ratio : NULL);
        cl.by_hash = rnd() % 2;
        cl.world = 1 + (uint32_t)(rnd() % 8);
        cl.max_line = t % 3 == 1 ? 200 + rnd() % 200 : 1u << 20;
        if (rnd() % 4 == 0) { cl.keyfield = "id"; cl.need_object = 1; }
        else cl.need_object = rnd() % 3 == 0;
        struct rec want = {0};
        reference(&cl, data + off, n - off, &want);
        for (size_t i = 0; i < want.len;) { /* count the kinds */
            kinds[want.p[i] == 'L' ? 0 : want.p[i] == 'S' ? 1 : 2]++;
            const char *q = memchr(want.p + i, '\n', want.len - i);
            i = (size_t)(q - want.p) + 1;
        }
        for (size_t bi = 0; bi < sizeof blocks / sizeof *blocks; bi++) {
            if (n > 50000 && blocks[bi] && blocks[bi] < 64) continue; /* slow, no new edges */
            for (int th = 1; th <= 2; th++) {
                cl.block = blocks[bi];
                cl.threads = th;
                cl.items = 5; /* an earlier input's */
                struct rec got = {0};
                int rc = n - off ? run(fd, off, n - off, &cl, &got, &e) : 0;
                int ok = rc == 0 && got.len == want.len && (!got.len || memcmp(got.p, want.p, got.len) == 0) &&
                         cl.items == 5 + (n - off ? want.items : 0) && got.ticks == (cl.items / 1024) - (5 / 1024);
                if (!ok && mismatches++ < 3)
                    printf("# t=%d n=%zu off=%zu block=%zu threads=%d: rc=%d '%s' out %zu vs %zu, items %llu vs 5 + %llu\n", t, n, off,
                           blocks[bi], th, rc, e.msg, got.len, want.len, (unsigned long long)cl.items,
                           (unsigned long long)want.items);
                free(got.p);
                runs++;
            }
        }
        free(want.p);
    }
    CHECK(mismatches == 0, "tb_classify_map hands out what the per-line path decides in %d runs (1 and 2 threads, blocks of 1 byte to 1 MiB)", runs);
    CHECK(kinds[0] && kinds[1] && kinds[2], "the inputs hold classified, unclassified and over-long lines (%llu, %llu, %llu)",
          (unsigned long long)kinds[0], (unsigned long long)kinds[1], (unsigned long long)kinds[2]);

    /* a callback's error stops the run: nothing is handed out after it, on either thread count */
    {
        size_t n = 0;
        for (int i = 0; i < 5000; i++) n += (size_t)snprintf(data + n, cap - n, "{\"__key__\":\"k%d\"}\n", i);
        if (ftruncate(fd, 0) || pwrite(fd, data, n, 0) != (ssize_t)n) CHECK(0, "write temp");
        for (int th = 1; th <= 2; th++) {
            struct tb_classify cl;
            struct rec got = {.fail_at = 3001};
            int rc = run_whole(fd, n, &ratio, 1000, th, &cl, &got, &e);
            CHECK(rc == TB_EDATA && strstr(e.msg, "stop at item 3001") && got.items == 3001 && cl.items == 3000,
                  "%d thread(s): the callback's error is returned, after 3000 items: %s", th, e.msg);
            free(got.p);
        }
        /* a file that shrinks under the map: an error, not a SIGBUS death */
        for (int th = 1; th <= 2; th++) {
            if (ftruncate(fd, 0) || pwrite(fd, data, n, 0) != (ssize_t)n) CHECK(0, "write temp");
            struct tb_classify cl;
            struct rec got = {.truncate_at = 10};
            int rc = run_whole(fd, n, &ratio, 4096, th, &cl, &got, &e);
            CHECK(rc == TB_EDATA && strstr(e.msg, "f.jsonl changed size while being read"),
                  "%d thread(s): a file cut short while mapped is TB_EDATA: %s", th, e.msg);
            free(got.p);
        }
    }
    close(fd);
    free(data);
    return tap_done();
}
