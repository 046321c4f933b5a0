/* linepick: the chunked two-thread index filter agrees with a plain line-by-line reference on random
 * inputs full of chunk-edge cases (empty lines, lone "\r", CRLF split across chunks, lines longer than
 * a chunk, no final newline), at every chunk size from 1 byte up. */
#include "split_linepick.h"
#include "tap.h"
#include "testutil.h"
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) { return tu_xorshift(&rng); }

/* bytes drawn mostly from "\n\r" and a letter, with now and then a long run of letters */
static void fill(char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t r = rnd() % 100;
        if (r < 20) p[i] = '\n';
        else if (r < 30) p[i] = '\r';
        else if (r < 31 && i + 300 < n) { size_t k = 100 + rnd() % 200; memset(p + i, 'L', k); i += k - 1; }
        else p[i] = 'a' + (char)(r % 26);
    }
}

/* The reference filter: line by line, as split's line reader does. Returns 0 or the too-long line. */
struct ref { char *out; size_t olen; uint64_t index, skip, emitted; };
static uint64_t naive_pick(const char *p, size_t n, uint32_t world, uint32_t rank, uint64_t max_line, struct ref *r)
{
    size_t ls = 0;
    uint64_t lineno = 0;
    while (ls < n) {
        const char *q = memchr(p + ls, '\n', n - ls);
        size_t end = q ? (size_t)(q - p) : n, len = end - ls;
        lineno++;
        if (len > max_line) return lineno;
        if (len && p[ls + len - 1] == '\r') len--;
        if (len) {
            if (r->index % world == rank) {
                if (r->skip) r->skip--;
                else { memcpy(r->out + r->olen, p + ls, len); r->out[r->olen + len] = '\n'; r->olen += len + 1; r->emitted++; }
            }
            r->index++;
        }
        ls = end + 1;
    }
    return 0;
}

int main(void)
{
    /* the filter against the reference */
    char path[] = "/tmp/tb-linepick-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "temp file");
    unlink(path);
    size_t cap = 200000;
    char *data = malloc(cap), *ref_out = malloc(cap);
    static const size_t chunks[] = {1, 2, 3, 5, 64, 100, 1000, 4096, 0};
    int mismatches = 0, runs = 0, errors_seen = 0;
    /* under valgrind (make valgrind), which runs one thread at a time, far fewer: the chunk handoffs
     * between the two threads become slow, not wrong */
    int rounds = getenv("TB_VALGRIND") ? 30 : 400;
    for (int t = 0; t < rounds; t++) {
        size_t n = t < 20 ? (size_t)t : rnd() % (t < 300 ? 5000 : cap);
        fill(data, n);
        if (ftruncate(fd, 0) || pwrite(fd, data, n, 0) != (ssize_t)n) { CHECK(0, "write temp"); break; }
        size_t off = n ? rnd() % (n / 4 + 1) : 0;
        uint32_t world = 1 + (uint32_t)(rnd() % 9), rank = (uint32_t)(rnd() % world);
        uint64_t max_line = rnd() % 4 == 0 ? 150 + rnd() % 200 : 1u << 20;
        uint64_t index0 = rnd() % 3 == 0 ? rnd() % 50 : 0, skip0 = rnd() % 3 == 0 ? rnd() % 20 : 0;
        struct ref r = {ref_out, 0, index0, skip0, 0};
        uint64_t badline = naive_pick(data + off, n - off, world, rank, max_line, &r);
        for (size_t ci = 0; ci < sizeof chunks / sizeof *chunks; ci++) {
            if ((n > 20000 || rounds < 400) && chunks[ci] < 64 && chunks[ci] != 3) continue; /* slow, no new edges */
            for (int th = 1; th <= 2; th++) {
                struct tb_pick pk;
                memset(&pk, 0, sizeof pk);
                pk.world = world;
                pk.rank = rank;
                pk.max_line = max_line;
                pk.chunk = chunks[ci];
                pk.threads = th;
                pk.index = index0;
                pk.skip = skip0;
                char *got = NULL;
                size_t glen = 0;
                FILE *out = open_memstream(&got, &glen);
                tb_err e = {0};
                int rc = n - off ? tb_pick_lines(fd, off, n - off, "f", &pk, out, &e) : 0;
                fclose(out);
                int ok = glen == r.olen && memcmp(got, ref_out, glen) == 0;
                if (badline) {
                    char want[128];
                    snprintf(want, sizeof want, "line %llu of f is longer", (unsigned long long)badline);
                    ok = ok && rc == TB_EDATA && strstr(e.msg, want);
                    errors_seen++;
                } else {
                    ok = ok && rc == 0 && pk.index == r.index && pk.skip == r.skip && pk.emitted == r.emitted;
                }
                if (!ok && mismatches++ < 3)
                    printf("# t=%d n=%zu off=%zu chunk=%zu threads=%d world=%u rank=%u max=%llu: rc=%d '%s' out %zu vs %zu\n", t, n,
                           off, chunks[ci], th, world, rank, (unsigned long long)max_line, rc, e.msg, glen, r.olen);
                free(got);
                runs++;
            }
        }
    }
    CHECK(mismatches == 0, "tb_pick_lines equals the line-by-line reference in %d runs (1 and 2 threads, chunks of 1 byte to 256 KiB)", runs);
    CHECK(errors_seen > rounds / 8, "the runs include over-long lines, reported with the reference's line number (%d)", errors_seen);

    /* a file shorter than it was said to be */
    {
        memcpy(data, "a\nb\nc\n", 6);
        if (ftruncate(fd, 0) || pwrite(fd, data, 6, 0) != 6) CHECK(0, "write temp");
        struct tb_pick pk;
        memset(&pk, 0, sizeof pk);
        pk.world = 1;
        pk.max_line = 100;
        pk.chunk = 4;
        pk.threads = 2;
        char *got = NULL;
        size_t glen = 0;
        FILE *out = open_memstream(&got, &glen);
        tb_err e = {0};
        int rc = tb_pick_lines(fd, 0, 12, "short.jsonl", &pk, out, &e);
        fclose(out);
        CHECK(rc == TB_EDATA && strstr(e.msg, "short.jsonl changed size"), "a file that shrank is an error: %s", e.msg);
        CHECK(glen == 4 && memcmp(got, "a\nb\n", 4) == 0, "after the lines of the chunks before it");
        free(got);
    }
    close(fd);
    free(data);
    free(ref_out);
    return tap_done();
}
