/* lib/keyset: keys found again with their first payload, across table growth, with keys that share
 * prefixes, hold NUL bytes or are empty. */
#include "keyset.h"
#include "tap.h"
#include <stdio.h>
#include <string.h>

int main(void)
{
    struct tb_keyset s;
    tb_keyset_init(&s);
    char key[64], val[64];
    const int n = 20000;
    int fresh = 0;
    for (int i = 0; i < n; i++) {
        int kl = snprintf(key, sizeof key, "prefix/%d.tar", i);
        snprintf(val, sizeof val, "path-%d", i);
        fresh += tb_keyset_add(&s, key, (size_t)kl, (uint64_t)i, (uint64_t)i * 7, val, NULL, NULL, NULL) == 0;
    }
    CHECK_INT(fresh, n, "every distinct key is new");
    CHECK(s.n == (size_t)n, "n counts the keys");
    int again = 0, payload_ok = 0;
    for (int i = 0; i < n; i++) {
        int kl = snprintf(key, sizeof key, "prefix/%d.tar", i);
        uint64_t a = 0, b = 0;
        const char *v = NULL;
        again += tb_keyset_add(&s, key, (size_t)kl, 1, 2, "other", &a, &b, &v) == 1;
        snprintf(val, sizeof val, "path-%d", i);
        payload_ok += a == (uint64_t)i && b == (uint64_t)i * 7 && v && strcmp(v, val) == 0;
    }
    CHECK_INT(again, n, "every key is found again");
    CHECK_INT(payload_ok, n, "with its first payload");
    CHECK(s.n == (size_t)n, "finding a key adds nothing");
    CHECK(tb_keyset_add(&s, "a\0b", 3, 0, 0, "x", NULL, NULL, NULL) == 0, "a key with a NUL byte");
    CHECK(tb_keyset_add(&s, "a\0c", 3, 0, 0, "x", NULL, NULL, NULL) == 0, "differs after the NUL");
    CHECK(tb_keyset_add(&s, "a", 1, 0, 0, "x", NULL, NULL, NULL) == 0, "a prefix is another key");
    CHECK(tb_keyset_add(&s, "", 0, 0, 0, "x", NULL, NULL, NULL) == 0, "the empty key");
    CHECK(tb_keyset_add(&s, "", 0, 0, 0, "y", NULL, NULL, NULL) == 1, "the empty key again");
    tb_keyset_free(&s);
    return tap_done();
}
