/* lib/safepath: keys a hostile bucket can hold are refused with their reason; ordinary ones pass. */
#include "safepath.h"
#include "tap.h"
#include <string.h>

static const char *check(const char *k) { return tb_safepath_check(k, strlen(k)); }

int main(void)
{
    static const char *const ok[] = {"a", "a/b/c.txt", "step-100/model.pt", "..a", "a..", "a/..b/c",
                                     ".hidden", "a/.complete", "ünïcødé/名前.txt", "a b/c d", "...", NULL};
    for (size_t i = 0; i < sizeof ok / sizeof *ok - 1; i++)
        CHECK(check(ok[i]) == NULL, "'%s' is safe", ok[i]);

    static const struct { const char *key, *why; } bad[] = {
        {"", "empty key"}, {"../evil", "'..'"}, {"a/../../b", "'..'"}, {"a/..", "'..'"}, {"..", "'..'"},
        {"/abs", "absolute"}, {"/", "absolute"}, {"a\\b", "backslash"}, {"..\\evil", "backslash"},
        {"a//b", "empty component"}, {"a/", "trailing"}, {"./a", "'.'"}, {"a/./b", "'.'"}, {".", "'.'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *r = check(bad[i].key);
        CHECK(r && strstr(r, bad[i].why), "'%s' is refused: %s", bad[i].key, r ? r : "(accepted)");
    }
    const char *r = tb_safepath_check("a\0/../b", 7);
    CHECK(r && strstr(r, "NUL"), "a NUL byte is refused: %s", r ? r : "(accepted)");

    char name[300], key[4000];
    memset(name, 'x', 255);
    name[255] = 0;
    CHECK(check(name) == NULL, "a 255-byte component is safe");
    name[255] = 'x';
    name[256] = 0;
    r = check(name);
    CHECK(r && strstr(r, "255"), "a 256-byte component is refused: %s", r ? r : "(accepted)");
    size_t n = 0;
    while (n + 101 <= TB_SAFEPATH_KEY_MAX) { memset(key + n, 'k', 100); key[n + 100] = '/'; n += 101; }
    memset(key + n, 'k', TB_SAFEPATH_KEY_MAX - n);
    CHECK(tb_safepath_check(key, TB_SAFEPATH_KEY_MAX) == NULL, "a key of the maximum length is safe");
    key[TB_SAFEPATH_KEY_MAX] = 'k';
    r = tb_safepath_check(key, TB_SAFEPATH_KEY_MAX + 1);
    CHECK(r && strstr(r, "longer"), "one byte more is refused: %s", r ? r : "(accepted)");
    return tap_done();
}
