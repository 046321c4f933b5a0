/* base64: strict padded base64 over OpenSSL (see base64.h). The checks happen here; the table-driven
 * loops of EVP do the bytes (they are what sample's $base64 decode spends its time in). */
#include "base64.h"
#include <openssl/evp.h>

/* 1 + the value of each base64 character; 0 for every other byte. */
static const signed char b64val[256] = {
    ['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7, ['H'] = 8, ['I'] = 9,
    ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17,
    ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] = 25,
    ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33,
    ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41,
    ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49,
    ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57,
    ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};

/* EVP's calls take an int: work in pieces that are a multiple of 3 bytes / 4 characters. */
#define ENC_CHUNK ((size_t)3 << 20)
#define DEC_CHUNK ((size_t)4 << 20)

long tb_base64_decode(const char *in, size_t n, unsigned char *out)
{
    /* EVP_DecodeBlock skips whitespace and accepts '=' in odd places: check the strict form first,
     * so one text cannot decode two ways. */
    if (n % 4) return -1;
    if (n == 0) return 0;
    size_t pad = in[n - 1] == '=' ? (in[n - 2] == '=' ? 2 : 1) : 0;
    for (size_t i = 0; i < n - pad; i++)
        if (!b64val[(unsigned char)in[i]]) return -1;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = n - i > DEC_CHUNK ? DEC_CHUNK : n - i;
        int r = EVP_DecodeBlock(out + o, (const unsigned char *)in + i, (int)k);
        if (r < 0) return -1;
        o += (size_t)r; /* the padding counts as zero bytes here: taken off below */
        i += k;
    }
    return (long)(o - pad);
}

size_t tb_base64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    while (n > 0) {
        size_t k = n > ENC_CHUNK ? ENC_CHUNK : n;
        o += (size_t)EVP_EncodeBlock((unsigned char *)out + o, in, (int)k);
        in += k;
        n -= k;
    }
    out[o] = 0;
    return o;
}
