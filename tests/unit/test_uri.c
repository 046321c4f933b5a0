/* Unit tests for lib/uri: every form of DESIGN.md, odd keys, round trips and errors. */
#include "tap.h"
#include "uri.h"
#include <stdlib.h>

static void roundtrip(const char *s)
{
    struct tb_uri u;
    tb_err e = {0};
    int r = tb_uri_parse(s, &u, &e);
    CHECK(r == 0, "parse %s (%s)", s, r ? e.msg : "ok");
    if (r) return;
    char *f = tb_uri_format(&u);
    CHECK_STR(f, s, "format round-trips %s", s);
    free(f);
    tb_uri_free(&u);
}

static void bad(const char *s, const char *why)
{
    struct tb_uri u;
    tb_err e = {0};
    int r = tb_uri_parse(s, &u, &e);
    CHECK(r == TB_EUSAGE && strstr(e.msg, why), "'%s' refused: %s", s, e.msg);
    tb_uri_free(&u);
}

int main(void)
{
    struct tb_uri u;
    tb_err e = {0};

    CHECK(tb_uri_parse("s3://bucket/a/b c/ü?x#y%20+z", &u, &e) == 0, "s3 odd key parses");
    CHECK_INT(u.scheme, TB_URI_S3, "scheme s3");
    CHECK_STR(u.bucket, "bucket", "bucket");
    CHECK_STR(u.key, "a/b c/ü?x#y%20+z", "key literal: no percent-decoding, ? and # kept");
    tb_uri_free(&u);

    CHECK(tb_uri_parse("r2://b", &u, &e) == 0 && u.scheme == TB_URI_R2 && strcmp(u.key, "") == 0, "r2 bucket root");
    tb_uri_free(&u);
    CHECK(tb_uri_parse("gs://b/", &u, &e) == 0 && u.scheme == TB_URI_GS && strcmp(u.key, "") == 0, "gs bucket root with slash");
    tb_uri_free(&u);

    CHECK(tb_uri_parse("az://acct/cont/dir/blob name+1", &u, &e) == 0, "az parses");
    CHECK_STR(u.account, "acct", "az account");
    CHECK_STR(u.bucket, "cont", "az container");
    CHECK_STR(u.key, "dir/blob name+1", "az key");
    tb_uri_free(&u);

    CHECK(tb_uri_parse("hf://datasets/org/name@v1.0/data/*.jsonl.gz", &u, &e) == 0, "hf parses");
    CHECK_STR(u.hf_type, "datasets", "hf type");
    CHECK_STR(u.hf_repo, "org/name", "hf repo");
    CHECK_STR(u.hf_rev, "v1.0", "hf revision");
    CHECK_STR(u.key, "data/*.jsonl.gz", "hf path with glob");
    tb_uri_free(&u);
    CHECK(tb_uri_parse("hf://datasets/org/name/x.jsonl", &u, &e) == 0 && u.hf_rev == NULL, "hf without revision");
    tb_uri_free(&u);

    CHECK(tb_uri_parse("file:///abs/dir/key with space", &u, &e) == 0 && u.scheme == TB_URI_FILE, "file URI");
    CHECK_STR(u.path, "/abs/dir/key with space", "file path");
    tb_uri_free(&u);
    CHECK(tb_uri_parse("out/shard-000001.tar", &u, &e) == 0 && u.scheme == TB_URI_FILE && !u.explicit_file, "plain path");
    tb_uri_free(&u);
    CHECK(tb_uri_parse("weird:name?#%.txt", &u, &e) == 0 && u.scheme == TB_URI_FILE, "plain path with colon");
    tb_uri_free(&u);

    CHECK(tb_uri_parse("https://example.org/a%20b?x=1#f", &u, &e) == 0 && u.scheme == TB_URI_HTTPS, "https URL");
    CHECK_STR(u.url, "https://example.org/a%20b?x=1#f", "URL kept verbatim (RFC 3986)");
    tb_uri_free(&u);

    roundtrip("s3://bucket/a/b c/ü?x#y%20+z");
    roundtrip("r2://bkt/runs/2026-11-22/");
    roundtrip("gs://my_bucket/x");
    roundtrip("az://acct/cont/k%2F?#");
    roundtrip("hf://datasets/org/name@main/data/*.jsonl.gz");
    roundtrip("hf://models/o/n/");
    roundtrip("file:///tmp/x y");
    roundtrip("relative/dir/");
    roundtrip("http://127.0.0.1:8080/a?b=c");

    bad("", "empty");
    bad("s3://", "bucket");
    bad("s3://bad bucket/x", "bucket");
    bad("az://acct", "container");
    bad("az://acct/", "container");
    bad("hf://foo/org/name", "hf URI");
    bad("hf://datasets/org", "ORG/NAME");
    bad("hf://datasets/org/name@/x", "revision");
    bad("file://relative", "absolute");
    bad("ftp://host/x", "unsupported");
    bad("http:///nohost", "no host");

    struct tb_uri p, j;
    tb_uri_parse("s3://b/runs/", &p, &e);
    CHECK(tb_uri_join(&p, "shard-000001.tar", &j, &e) == 0, "join");
    char *f = tb_uri_format(&j);
    CHECK_STR(f, "s3://b/runs/shard-000001.tar", "join with trailing slash");
    free(f); tb_uri_free(&j); tb_uri_free(&p);
    tb_uri_parse("out", &p, &e);
    tb_uri_join(&p, "a b.tar", &j, &e);
    CHECK_STR(j.path, "out/a b.tar", "join on a plain path adds a slash");
    tb_uri_free(&j); tb_uri_free(&p);
    tb_uri_parse("az://a/c", &p, &e);
    tb_uri_join(&p, "k", &j, &e);
    CHECK_STR(j.key, "k", "join at container root");
    tb_uri_free(&j); tb_uri_free(&p);
    return tap_done();
}
