/* bigline: a byte-at-a-time scanner over a line's pieces (any split: inside escapes, between a
 * field's "$base64" and its colon, ...), with runs of string bytes copied or decoded in bulk. */
#include "shard_bigline.h"
#include "alloc.h"
#include "base64.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ST_COPY, ST_CAND, ST_B64, ST_AFTER };

static inline int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

void tb_bigline_init(struct tb_bigline *b) { memset(b, 0, sizeof *b); }

void tb_bigline_free(struct tb_bigline *b)
{
    free(b->line);
    free(b->blob);
    free(b->spans);
    memset(b, 0, sizeof *b);
}

void tb_bigline_reset(struct tb_bigline *b)
{
    b->len = b->blen = 0;
    b->nspans = 0;
    b->raw = 0;
    b->unsupported = 0;
    b->st = ST_COPY;
    b->in_str = b->esc = b->depth = b->valpos = b->step = 0;
    b->npend = b->nq = 0;
    b->padded = b->bad = b->nue = 0;
}

static void put(struct tb_bigline *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) tb_xgrow(&b->line, &b->cap, b->len + n + 1); /* tested inline: put runs per byte */
    memcpy(b->line + b->len, p, n);
    b->len += n;
}

/* Decode the queued base64 characters (final: the string ended) into the blob. */
static void flush(struct tb_bigline *b, int final)
{
    if (b->nq == 0 || b->bad) { b->nq = 0; return; }
    if (b->padded || (final && b->nq % 4)) { b->bad = 1; b->nq = 0; return; }
    size_t need = b->blen + b->nq / 4 * 3;
    if (need > b->bcap) {
        size_t nc = b->bcap ? b->bcap : (1u << 20);
        while (nc < need) nc *= 2;
        b->blob = tb_xrealloc(b->blob, nc); /* large blocks are mremap'ed: no copy, no double RSS */
        b->bcap = nc;
    }
    long d = tb_base64_decode(b->q, b->nq, b->blob + b->blen);
    if (d < 0) b->bad = 1;
    else b->blen += (size_t)d;
    if (b->q[b->nq - 1] == '=') b->padded = 1;
    b->nq = 0;
}

static void push(struct tb_bigline *b, const char *p, size_t n)
{
    while (n > 0) {
        size_t k = TB_BIGLINE_QCAP - b->nq < n ? TB_BIGLINE_QCAP - b->nq : n;
        memcpy(b->q + b->nq, p, k);
        b->nq += k;
        p += k;
        n -= k;
        if (b->nq == TB_BIGLINE_QCAP) flush(b, 0);
    }
}

static void copy_byte(struct tb_bigline *b, char c)
{
    if (b->in_str) {
        if (b->esc) b->esc = 0;
        else if (c == '\\') b->esc = 1;
        else if (c == '"') b->in_str = 0;
    } else if (c == '"') {
        b->in_str = 1;
        b->valpos = 0;
    } else if (c == '{' || c == '[') {
        b->depth++;
        b->valpos = 0;
    } else if (c == '}' || c == ']') {
        b->depth--;
        b->valpos = 0;
    } else if (c == ':' && b->depth == 1) {
        b->valpos = 1;
    } else if (!is_ws(c)) {
        b->valpos = 0;
    }
    put(b, &c, 1);
}

/* Not {"$base64": "...: what was held back is ordinary text. */
static void abandon(struct tb_bigline *b)
{
    b->st = ST_COPY;
    b->valpos = 0;
    size_t n = b->npend;
    b->npend = 0;
    for (size_t i = 0; i < n; i++) copy_byte(b, b->pend[i]);
}

static void cand_byte(struct tb_bigline *b, char c)
{
    static const char pat[] = "$base64\"";
    if (b->npend == sizeof b->pend) { abandon(b); copy_byte(b, c); return; }
    b->pend[b->npend++] = c;
    if (b->step == 0) {
        if (c == '"') b->step = 1;
        else if (!is_ws(c)) abandon(b);
    } else if (b->step <= 8) {
        if (c != pat[b->step - 1]) abandon(b);
        else b->step++;
    } else if (b->step == 9) {
        if (c == ':') b->step = 10;
        else if (!is_ws(c)) abandon(b);
    } else {
        if (c == '"') {
            b->st = ST_B64;
            b->nraw = 0;
            b->rawover = 0;
            b->nq = 0;
            b->padded = b->bad = b->nue = b->esc = 0;
            struct tb_blob sp = {b->blen, 0};
            size_t cap = (size_t)b->spcap;
            tb_xgrow_n(&b->spans, &cap, (size_t)b->nspans + 1, sizeof *b->spans, 8);
            b->spcap = (int)cap;
            b->spans[b->nspans] = sp; /* its length is set when the string ends */
        } else if (!is_ws(c)) {
            abandon(b);
        }
    }
}

static int hexv(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void tb_bigline_feed(struct tb_bigline *b, const char *p, size_t n)
{
    b->raw += n;
    size_t i = 0;
    while (i < n) {
        char c = p[i];
        switch (b->st) {
        case ST_COPY:
            if (b->in_str && !b->esc) { /* a run of string bytes at once */
                size_t j = i;
                while (j < n && p[j] != '"' && p[j] != '\\') j++;
                if (j > i) {
                    put(b, p + i, j - i);
                    i = j;
                    continue;
                }
            }
            if (b->valpos && b->depth == 1 && c == '{') {
                b->st = ST_CAND;
                b->step = 0;
                b->npend = 0;
                b->pend[b->npend++] = c;
                break;
            }
            copy_byte(b, c);
            break;
        case ST_CAND:
            cand_byte(b, c);
            break;
        case ST_B64:
            if (c != '"' || b->esc || b->nue) { /* the string's text, while it fits */
                size_t j = i + 1;
                if (!b->esc && !b->nue && c != '\\')
                    while (j < n && p[j] != '"' && p[j] != '\\') j++;
                if (!b->rawover && b->nraw + (j - i) <= sizeof b->rawtxt) {
                    memcpy(b->rawtxt + b->nraw, p + i, j - i);
                    b->nraw += j - i;
                } else {
                    b->rawover = 1;
                }
            }
            if (b->nue) {
                int h = hexv(c);
                if (h < 0) b->bad = 1;
                b->ue[b->nue++ - 1] = (char)h;
                if (b->nue == 5) {
                    int v = (b->ue[0] << 12) | (b->ue[1] << 8) | (b->ue[2] << 4) | b->ue[3];
                    char ch = (char)v;
                    if (v >= 0x80 || v < 0) b->bad = 1;
                    else push(b, &ch, 1);
                    b->nue = 0;
                }
            } else if (b->esc) {
                b->esc = 0;
                if (c == 'u') b->nue = 1;
                else if (c == '/') push(b, "/", 1);
                else b->bad = 1; /* no other escape is a base64 character */
            } else if (c == '\\') {
                b->esc = 1;
            } else if (c == '"') {
                flush(b, 1);
                b->st = ST_AFTER;
            } else {
                size_t j = i;
                while (j < n && p[j] != '"' && p[j] != '\\') j++;
                push(b, p + i, j - i);
                i = j;
                continue;
            }
            break;
        case ST_AFTER:
            if (c == '}') {
                char ph[48];
                struct tb_blob *sp = &b->spans[b->nspans];
                int idx = -1;
                if (!b->bad) { sp->len = b->blen - sp->off; idx = b->nspans++; }
                else b->blen = sp->off;
                int k = snprintf(ph, sizeof ph, "{\"$base64\":%d}", idx);
                put(b, ph, (size_t)k);
                b->npend = 0;
                b->st = ST_COPY;
                b->valpos = 0;
            } else if (!is_ws(c)) {
                /* more fields beside $base64: an ordinary object after all, copied as text */
                b->blen = b->spans[b->nspans].off;
                b->st = ST_COPY;
                b->depth = 2;
                b->in_str = b->esc = 0;
                b->valpos = 0;
                if (b->rawover) b->unsupported = 1;
                put(b, b->pend, b->npend);
                put(b, b->rawtxt, b->nraw);
                put(b, "\"", 1);
                copy_byte(b, c);
                b->npend = 0;
            }
            break;
        }
        i++;
    }
}

int tb_bigline_end(struct tb_bigline *b, tb_err *e)
{
    if (b->st == ST_CAND) abandon(b);
    while (b->len && is_ws(b->line[b->len - 1])) b->len--;
    tb_xgrow(&b->line, &b->cap, b->len + 1);
    b->line[b->len] = 0;
    if (b->unsupported)
        return tb_fail(e, TB_EDATA, "a {\"$base64\": ...} object with other fields in a line this long is not supported");
    return 0;
}

void tb_bigline_attach(const struct tb_bigline *b, struct tb_sample *s)
{
    s->blob = b ? b->blob : NULL;
    s->blobs = b ? b->spans : NULL;
    s->nblobs = b ? b->nspans : 0;
}
