/* xml: expat-driven element paths and text (see xml.h). */
#include "xml.h"
#include "alloc.h"
#include <expat.h>
#include <stdlib.h>
#include <string.h>

struct xs {
    XML_Parser p;
    char *path;    /* "A/B/C" */
    size_t plen, pcap;
    size_t *marks; /* path length before each open element */
    int depth;
    size_t mcap;
    char *text;
    size_t tlen, tcap;
    tb_xml_fn cb;
    void *ud;
    int rc;
};

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    (void)atts;
    struct xs *s = ud;
    const char *local = strrchr(name, ':');
    local = local ? local + 1 : name;
    tb_xgrow_n(&s->marks, &s->mcap, (size_t)s->depth + 1, sizeof *s->marks, 16);
    s->marks[s->depth++] = s->plen;
    size_t nl = strlen(local);
    tb_xgrow_n(&s->path, &s->pcap, s->plen + nl + 2, 1, 128);
    if (s->plen) s->path[s->plen++] = '/';
    memcpy(s->path + s->plen, local, nl);
    s->plen += nl;
    s->path[s->plen] = 0;
    s->tlen = 0;
}

static void XMLCALL on_text(void *ud, const XML_Char *t, int n)
{
    struct xs *s = ud;
    tb_xgrow_n(&s->text, &s->tcap, s->tlen + (size_t)n + 1, 1, 128);
    memcpy(s->text + s->tlen, t, (size_t)n);
    s->tlen += (size_t)n;
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    (void)name;
    struct xs *s = ud;
    tb_xgrow_n(&s->text, &s->tcap, s->tlen + 1, 1, 128);
    s->text[s->tlen] = 0;
    if (!s->rc) {
        int r = s->cb(s->ud, s->path, s->text, s->tlen);
        if (r) { s->rc = r; XML_StopParser(s->p, XML_FALSE); }
    }
    s->tlen = 0;
    s->plen = s->marks[--s->depth];
    s->path[s->plen] = 0;
}

int tb_xml_parse(const char *doc, size_t len, tb_xml_fn cb, void *ud, tb_err *e)
{
    struct xs s = {0};
    s.cb = cb;
    s.ud = ud;
    s.p = XML_ParserCreate(NULL);
    if (!s.p) tb_oom(sizeof s); /* expat fails to create a parser only when out of memory */
    XML_SetUserData(s.p, &s);
    XML_SetElementHandler(s.p, on_start, on_end);
    XML_SetCharacterDataHandler(s.p, on_text);
    enum XML_Status st = XML_Parse(s.p, doc ? doc : "", (int)len, XML_TRUE);
    int rc = 0;
    if (s.rc) rc = s.rc;
    else if (st != XML_STATUS_OK)
        rc = tb_fail(e, TB_EDATA, "malformed XML response: %s (line %lu)", XML_ErrorString(XML_GetErrorCode(s.p)),
                     (unsigned long)XML_GetCurrentLineNumber(s.p));
    XML_ParserFree(s.p);
    free(s.path);
    free(s.marks);
    free(s.text);
    return rc;
}

char *tb_xml_escape(const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p; p++) n += (*p == '&') ? 5 : (*p == '<' || *p == '>') ? 4 : (*p == '"' || *p == '\'') ? 6 : 1;
    char *o = tb_xmalloc(n + 1), *q = o;
    for (const char *p = s; *p; p++) {
        switch (*p) {
        case '&': memcpy(q, "&amp;", 5); q += 5; break;
        case '<': memcpy(q, "&lt;", 4); q += 4; break;
        case '>': memcpy(q, "&gt;", 4); q += 4; break;
        case '"': memcpy(q, "&quot;", 6); q += 6; break;
        case '\'': memcpy(q, "&apos;", 6); q += 6; break;
        default: *q++ = *p;
        }
    }
    *q = 0;
    return o;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

long long tb_xml_time(const char *s)
{
    int y, mo, d, h, mi, sec;
    if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d) ||
        s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
        !digits(s + 17, 2, &sec))
        return 0;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return 0;
    /* days since 1970-01-01 of a proleptic Gregorian date, counting years from March so the leap
     * day comes last */
    long long yy = y - (mo <= 2);
    long long era = (yy >= 0 ? yy : yy - 399) / 400;
    long long yoe = yy - era * 400;
    long long doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long long days = era * 146097 + doe - 719468;
    return days * 86400 + h * 3600 + mi * 60 + sec;
}
