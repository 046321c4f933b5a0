/* lazy_crypto: OpenSSL's libcrypto, loaded on first use instead of at program start.
 *
 * Linking libcrypto cost 0.55 ms at every start here (its constructor probes the CPU with CPUID,
 * each a trap to the hypervisor on a VM; then its relocations): a fortieth of what `trainbox split
 * --world-size 8` needs for 2 million lines, paid by every command in every pipeline stage, although
 * split and manifest's index formats never hash anything. So, as with libcurl (lazy_curl.c), the
 * binary is not linked against it: this file defines the few libcrypto functions trainbox calls and
 * forwards each to the real one, looked up (lib/lazy) the first time any of them is called. */
#include "lazy.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define SONAME "libcrypto.so.3"

/* name, return type, parameters, arguments */
#define TB_CRYPTO_FNS(X)                                                                                   \
    X(EVP_MD_CTX_new, EVP_MD_CTX *, (void), ())                                                           \
    X(EVP_MD_CTX_free, void, (EVP_MD_CTX *c), (c))                                                        \
    X(EVP_sha256, const EVP_MD *, (void), ())                                                             \
    X(EVP_md5, const EVP_MD *, (void), ())                                                                \
    X(EVP_DigestInit_ex, int, (EVP_MD_CTX *c, const EVP_MD *t, ENGINE *e), (c, t, e))                     \
    X(EVP_DigestUpdate, int, (EVP_MD_CTX *c, const void *d, size_t n), (c, d, n))                        \
    X(EVP_DigestFinal_ex, int, (EVP_MD_CTX *c, unsigned char *md, unsigned int *s), (c, md, s))          \
    X(EVP_Digest, int, (const void *d, size_t n, unsigned char *md, unsigned int *s, const EVP_MD *t, ENGINE *e), \
      (d, n, md, s, t, e))                                                                                 \
    X(EVP_EncodeBlock, int, (unsigned char *t, const unsigned char *f, int n), (t, f, n))                 \
    X(EVP_DecodeBlock, int, (unsigned char *t, const unsigned char *f, int n), (t, f, n))                 \
    X(HMAC, unsigned char *,                                                                               \
      (const EVP_MD *md, const void *key, int key_len, const unsigned char *d, size_t n, unsigned char *out, \
       unsigned int *out_len),                                                                             \
      (md, key, key_len, d, n, out, out_len))                                                              \
    X(OPENSSL_cleanse, void, (void *p, size_t n), (p, n))

static struct {
    TB_CRYPTO_FNS(TB_LAZY_PTR)
} fn;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
    void *lib = tb_lazy_open(SONAME, "libssl3");
    /* dlsym returns an object pointer; POSIX guarantees it converts to a function pointer */
#define LOAD(name, ...) *(void **)&fn.name = tb_lazy_sym(lib, SONAME, #name);
    TB_CRYPTO_FNS(LOAD)
#undef LOAD
}

#define DEF(...) TB_LAZY_DEF(fn, once, load, __VA_ARGS__)
TB_CRYPTO_FNS(DEF)
#undef DEF
