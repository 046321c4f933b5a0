/* lib/base64: RFC 4648's vectors, a reference encoder at every length around the 3-byte groups and
 * across the 3 MiB / 4 MiB pieces handed to OpenSSL, and the strict form's rejections (whitespace,
 * '=' inside, foreign characters, lengths not a multiple of 4). */
#include "base64.h"
#include "tap.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The plain textbook encoder, to compare with. */
static size_t ref_encode(const unsigned char *in, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? a[v & 63] : '=';
    }
    out[o] = 0;
    return o;
}

static void vectors(void)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char out[16];
        unsigned char back[16];
        size_t n = strlen(plain[i]);
        CHECK_INT(tb_base64_encode((const unsigned char *)plain[i], n, out), strlen(enc[i]), "encoded length of \"%s\"", plain[i]);
        CHECK_STR(out, enc[i], "RFC 4648 vector \"%s\"", plain[i]);
        long d = tb_base64_decode(enc[i], strlen(enc[i]), back);
        CHECK(d == (long)n && memcmp(back, plain[i], n) == 0, "decodes back to \"%s\"", plain[i]);
    }
    char out[16];
    tb_base64_encode((const unsigned char *)"\x00\x01\x02\xff", 4, out);
    CHECK_STR(out, "AAEC/w==", "'/' and NUL bytes");
    tb_base64_encode((const unsigned char *)"\xfb\xff", 2, out);
    CHECK_STR(out, "+/8=", "'+'");
}

static void rejects(void)
{
    unsigned char b[64];
    static const char *const bad[] = {"YQ=", "Y===", "====", "YQ==YQ==", "Y=Q=", "YW J", "YWJ\n", "YWJj\n", "YW-j", "YW_j",
                                      "YWJ\xc3", "YQ=\x00"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_INT(tb_base64_decode(bad[i], i == 11 ? 4 : strlen(bad[i]), b), -1, "rejects bad form #%zu", i);
    CHECK_INT(tb_base64_decode("", 0, b), 0, "empty decodes to nothing");
    CHECK_INT(tb_base64_decode("YWJj", 4, b), 3, "no padding");
    CHECK_INT(tb_base64_decode("YWI=", 4, b), 2, "one pad");
    CHECK_INT(tb_base64_decode("YQ==", 4, b), 1, "two pads");
}

static void lengths(void)
{
    unsigned char in[300], back[300];
    char out[TB_BASE64_ENCODED_SIZE(300)], ref[TB_BASE64_ENCODED_SIZE(300)];
    for (int i = 0; i < 300; i++) in[i] = (unsigned char)(i * 131 + 7);
    int ok = 0;
    for (size_t n = 0; n <= 300; n++) {
        size_t k = tb_base64_encode(in, n, out);
        ref_encode(in, n, ref);
        long d = tb_base64_decode(out, k, back);
        ok += k == TB_BASE64_ENCODED_SIZE(n) - 1 && strcmp(out, ref) == 0 && d == (long)n && memcmp(back, in, n) == 0 &&
              (size_t)d <= TB_BASE64_DECODED_MAX(k);
    }
    CHECK_INT(ok, 301, "every length 0..300 matches the reference and decodes back");
}

static void large(void)
{
    /* over 3 MiB in and 4 MiB of text: several pieces each way, a padded tail */
    size_t n = (size_t)10 << 20 | 1;
    unsigned char *in = malloc(n), *back = malloc(TB_BASE64_DECODED_MAX(TB_BASE64_ENCODED_SIZE(n))); /* EVP writes the padding's zero bytes too */
    char *out = malloc(TB_BASE64_ENCODED_SIZE(n)), *ref = malloc(TB_BASE64_ENCODED_SIZE(n));
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < n; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; in[i] = (unsigned char)x; }
    size_t k = tb_base64_encode(in, n, out);
    ref_encode(in, n, ref);
    CHECK(k == strlen(ref) && strcmp(out, ref) == 0, "10 MiB encode matches the reference");
    long d = tb_base64_decode(out, k, back);
    CHECK(d == (long)n && memcmp(back, in, n) == 0, "10 MiB decodes back");
    out[k / 2] = '=';
    CHECK_INT(tb_base64_decode(out, k, back), -1, "an '=' in the middle of a long text is refused");
    free(in); free(back); free(out); free(ref);
}

int main(void)
{
    vectors();
    rejects();
    lengths();
    large();
    return tap_done();
}
