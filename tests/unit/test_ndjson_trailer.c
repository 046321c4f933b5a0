/* Unit tests for lib/ndjson_trailer: the record-stream trailer is recognized only in its strict form. */
#include "tap.h"
#include "ndjson_trailer.h"
#include <stdio.h>
#include <stdlib.h>

static int parse(const char *s, uint64_t *n, tb_err *e)
{
    *n = 12345;
    e->code = 0;
    e->msg[0] = 0;
    return tb_trailer_parse(s, strlen(s), n, e);
}

static void valid(const char *s, uint64_t want)
{
    uint64_t n;
    tb_err e;
    int r = parse(s, &n, &e);
    CHECK(r == 1 && n == want, "trailer %s -> %llu (%d %s)", s, (unsigned long long)n, r, e.msg);
}

static void not_trailer(const char *s)
{
    uint64_t n;
    tb_err e;
    int r = parse(s, &n, &e);
    CHECK(r == 0 && n == 12345 && e.code == 0, "not a trailer: %s", s);
}

static void malformed(const char *s, const char *why)
{
    uint64_t n;
    tb_err e;
    int r = parse(s, &n, &e);
    CHECK(r == -1 && e.code == TB_EDATA && strstr(e.msg, why), "malformed: %s (%s)", s, e.msg);
}

int main(void)
{
    valid("{\"__end__\": {\"records\": 3, \"ok\": true}}", 3);
    valid("{\"__end__\":{\"ok\":true,\"records\":0}}", 0);
    valid(" { \"__end__\" : { \"records\" : 18446744073709551615 , \"ok\" : true } } ", UINT64_MAX);

    /* what the writer writes reads back */
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = open_memstream(&buf, &blen);
    tb_err e = {0};
    CHECK(tb_trailer_write(f, 42, &e) == 0, "write");
    fclose(f);
    CHECK_STR(buf, "{\"__end__\": {\"records\": 42, \"ok\": true}}\n", "the contract's exact form");
    valid(buf, 42);
    free(buf);

    /* records and paths are not trailers, even when they mention __end__ */
    not_trailer("{\"path\": \"out/train-000000.tar\", \"bytes\": 10240}");
    not_trailer("out/__end__.tar");
    not_trailer("{\"path\": \"a.tar\", \"first_key\": \"__end__\"}");
    not_trailer("{\"path\": \"a.tar\", \"x\": {\"__end__\": {\"records\": 1, \"ok\": true}}}");
    not_trailer("");

    /* wrong count types */
    malformed("{\"__end__\": {\"records\": \"3\", \"ok\": true}}", "records");
    malformed("{\"__end__\": {\"records\": -1, \"ok\": true}}", "records");
    malformed("{\"__end__\": {\"records\": 1.5, \"ok\": true}}", "records");
    malformed("{\"__end__\": {\"records\": 1e3, \"ok\": true}}", "records");
    malformed("{\"__end__\": {\"records\": 03, \"ok\": true}}", "malformed trailer"); /* not JSON */
    malformed("{\"__end__\": {\"records\": null, \"ok\": true}}", "records");
    malformed("{\"__end__\": {\"records\": 18446744073709551616, \"ok\": true}}", "records");
    malformed("{\"__end__\": {\"ok\": true}}", "no \"records\"");
    /* ok false or missing */
    malformed("{\"__end__\": {\"records\": 3, \"ok\": false}}", "\"ok\" is false");
    malformed("{\"__end__\": {\"records\": 3, \"ok\": \"true\"}}", "\"ok\" is not true");
    malformed("{\"__end__\": {\"records\": 3, \"ok\": 1}}", "\"ok\" is not true");
    malformed("{\"__end__\": {\"records\": 3}}", "no \"ok\"");
    /* extra junk */
    malformed("{\"__end__\": {\"records\": 3, \"ok\": true}} junk", "malformed trailer");
    malformed("{\"__end__\": {\"records\": 3, \"ok\": true}}{}", "malformed trailer");
    malformed("{\"__end__\": {\"records\": 3, \"ok\": true}, \"path\": \"a.tar\"}", "beside");
    malformed("{\"__end__\": {\"records\": 3, \"ok\": true, \"extra\": 1}}", "unexpected");
    malformed("{\"__end__\": {\"records\": 3, \"records\": 4, \"ok\": true}}", "repeated");
    malformed("{\"__end__\": [3, true]}", "not an object");
    malformed("{\"__end__\": {\"records\": 3, \"ok\": true}", "malformed trailer"); /* truncated */
    return tap_done();
}
