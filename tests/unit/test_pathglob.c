/* lib/pathglob: a table of pattern/path cases (rclone's documented examples among them), compile
 * errors, and the first-match rule list with its implied exclude after includes. */
#include "pathglob.h"
#include "tap.h"
#include <stdio.h>
#include <string.h>

static const struct { const char *pat, *path; int want; } cases[] = {
    /* basename at any depth, whole components only (rclone's file.jpg example) */
    {"file.jpg", "file.jpg", 1}, {"file.jpg", "directory/file.jpg", 1},
    {"file.jpg", "afile.jpg", 0}, {"file.jpg", "directory/afile.jpg", 0},
    {"/file.jpg", "file.jpg", 1}, {"/file.jpg", "directory/file.jpg", 0}, {"/file.jpg", "afile.jpg", 0},
    /* rclone's example table */
    {"*.jpg", "file.jpg", 1}, {"*.jpg", "dir/file.jpg", 1}, {"*.jpg", "file.png", 0},
    {"/*.jpg", "file2.jpg", 1}, {"/*.jpg", "dir/file.jpg", 0},
    {"dir/**", "dir/anyfile", 1}, {"dir/**", "subdir/dir/subsubdir/anyfile", 1},
    {"dir/**", "file.png", 0}, {"dir/**", "subdir/file.png", 0},
    {"*.t?t", "file.txt", 1}, {"*.t?t", "dir/file.tzt", 1}, {"*.t?t", "file.qxt", 0},
    {"*.[a-z]", "file.a", 1}, {"*.[a-z]", "dir/file.b", 1}, {"*.[a-z]", "file.0", 0},
    {"*.\\?\\?\\?", "file.???", 1}, {"*.\\?\\?\\?", "file.abc", 0},
    /* '*' and '?' stay inside one component */
    {"/a*b", "axxb", 1}, {"/a*b", "ax/xb", 0}, {"/a?b", "a/b", 0}, {"/a?b", "axb", 1},
    {"/*", "a", 1}, {"/*", "a/b", 0}, {"*", "a/b", 1}, {"/a*", "a", 1},
    /* '**' crosses '/', '**' then '/' also matches zero components */
    {"/a/**/b", "a/b", 1}, {"/a/**/b", "a/x/b", 1}, {"/a/**/b", "a/x/y/b", 1},
    {"/a/**/b", "a/xb", 0}, {"/a/**/b", "ab", 0}, {"/**/b", "b", 1}, {"/**/b", "x/y/b", 1},
    {"/a**", "a/b/c", 1}, {"/a**z", "a/b/z", 1}, {"/a**z", "a/b/y", 0},
    {"**.pt", "x/y/m.pt", 1}, {"/**", "anything/at/all", 1},
    /* unanchored patterns with '/' match a tail that starts at a component */
    {"logs/*.txt", "logs/a.txt", 1}, {"logs/*.txt", "run1/logs/a.txt", 1},
    {"logs/*.txt", "xlogs/a.txt", 0}, {"logs/*.txt", "logs/sub/a.txt", 0},
    {"step-*/**", "ckpt/step-100/model.pt", 1}, {"/step-*/**", "ckpt/step-100/model.pt", 0},
    /* a trailing '/' means everything under the directory */
    {"logs/", "logs/a.txt", 1}, {"logs/", "x/logs/a/b.txt", 1}, {"logs/", "logs", 0},
    {"logs/", "logsx/a", 0},
    /* classes */
    {"/[!a]", "b", 1}, {"/[!a]", "a", 0}, {"/[^a-c]x", "dx", 1}, {"/[^a-c]x", "bx", 0},
    {"/[]]", "]", 1}, {"/[a-]", "-", 1}, {"/[-a]", "-", 1}, {"/[\\]]", "]", 1},
    {"/[a-c0-9]", "7", 1}, {"/[a-c0-9]", "d", 0}, {"/[!x]", "/", 0}, {"/a[/]b", "a/b", 0},
    {"/[é]", "é", 1}, {"/[à-ï]", "é", 1}, {"/[!é]", "é", 0}, {"/?", "é", 1}, {"/??", "é", 0},
    /* escapes and literal bytes */
    {"/a\\*b", "a*b", 1}, {"/a\\*b", "axb", 0}, {"/\\{x\\}", "{x}", 1}, {"/a\\\\b", "a\\b", 1},
    {"/ünï cødé.txt", "ünï cødé.txt", 1}, {"/A.txt", "a.txt", 0},
    {"/a.txt", "a.txt/b", 0}, {"/a", "ab", 0}, {"/ab", "a", 0},
};

static int matches(const char *pat, const char *path)
{
    struct tb_glob g;
    tb_err e = {0};
    if (tb_glob_compile(&g, pat, &e)) { printf("# compile '%s': %s\n", pat, e.msg); return -1; }
    int r = tb_glob_match(&g, path, strlen(path));
    tb_glob_free(&g);
    return r;
}

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        CHECK_INT(matches(cases[i].pat, cases[i].path), cases[i].want, "'%s' %s '%s'", cases[i].pat,
                  cases[i].want ? "matches" : "does not match", cases[i].path);

    static const char *const bad[] = {"", "/", "[abc", "a\\", "*.{pt,bin}", "a}", "[z-a]", "[\\"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct tb_glob g;
        tb_err e = {0};
        int rc = tb_glob_compile(&g, bad[i], &e);
        CHECK(rc == TB_EUSAGE && e.msg[0], "'%s' is refused (%s)", bad[i], e.msg);
    }

    /* a path with a NUL byte is matched by its length, not its C string */
    struct tb_glob g;
    CHECK(tb_glob_compile(&g, "/a*", NULL) == 0, "compile a*");
    CHECK(tb_glob_match(&g, "ab\0c", 4), "'*' crosses a NUL byte within the given length");
    CHECK(!tb_glob_match(&g, "ab/c", 4), "but not a '/'");
    tb_glob_free(&g);

    /* a pathological pattern still ends (backtracking only at stars) */
    CHECK_INT(matches("/*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), 0, "many stars, no match");
    /* '**' components too: the input tests/fuzz/fuzz_pathglob found taking seconds (exponential in
     * the stars) before the memo in tb_glob_match; and a long path takes the memo's heap path */
    CHECK_INT(matches("**/**?*/**/**?*/*/**?/**/*/**?/**?*/**/**?*ZU*",
                      "*/**/**?*/***/**?*/**/**?*/*/**?/**/*/**?/**?*/**/**?*ZU/*\xaa?\xb8\xb8\xb8\xb8\xb8\xb8\xb8*/**/j?*\x0c/**\xcf"),
              0, "fourteen stars over a 16-component near miss");
    CHECK_INT(matches("**/**?*/**/**?*/*/**?/**/*/**?/**?*/**/**?*ZU*", "a/bb/c/dd/e/f/gg/h/i/jj/kk/l/mm/nZUx"), 1,
              "and the same pattern matching");
    {
        static char deep[6001];
        for (int i = 0; i < 3000; i++) memcpy(deep + 2 * i, "a/", 2);
        deep[5999] = 'b';
        CHECK_INT(matches("**/a/**/a/*b", deep), 1, "a 6000-byte path: '**/a/**/a/*b' matches");
        CHECK_INT(matches("/**/a/**/a/*c", deep), 0, "... and '/**/a/**/a/*c' does not");
    }

    struct tb_filter f;
    tb_err e = {0};
    tb_filter_init(&f);
    CHECK(tb_filter_allows(&f, "x", 1), "no rules: everything is in scope");
    CHECK(tb_filter_add(&f, 0, "*.tmp", &e) == 0, "exclude *.tmp");
    CHECK(!tb_filter_allows(&f, "a/b.tmp", 7), "excluded");
    CHECK(tb_filter_allows(&f, "a/b.pt", 6), "only excludes: the rest is in scope");
    CHECK(tb_filter_add(&f, 1, "step-*/**", &e) == 0, "include step-*/**");
    CHECK(tb_filter_allows(&f, "step-1/m.pt", 11), "included");
    CHECK(!tb_filter_allows(&f, "step-1/m.tmp", 12), "the earlier exclude wins");
    CHECK(!tb_filter_allows(&f, "logs/a.txt", 10), "an include implies the rest is out");
    tb_filter_free(&f);

    tb_filter_init(&f);
    tb_filter_add(&f, 1, "keep.tmp", &e);
    tb_filter_add(&f, 0, "*.tmp", &e);
    CHECK(tb_filter_allows(&f, "keep.tmp", 8), "first match wins: include before exclude");
    CHECK(!tb_filter_allows(&f, "x.tmp", 5), "the exclude for the others");
    CHECK(tb_filter_add(&f, 0, "[x", &e) == TB_EUSAGE && strstr(e.msg, "--exclude") && strstr(e.msg, "[x"),
          "a bad rule names its option and pattern: %s", e.msg);
    CHECK(f.n == 2, "a bad rule is not added");
    tb_filter_free(&f);
    return tap_done();
}
