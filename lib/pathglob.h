// pathglob: the --include/--exclude patterns of `trainbox sync`, matched against relative paths
// ("dir/sub/file", '/' separated, no leading '/'), and the ordered rule list they form.
//
// Pattern syntax (rclone's filtering rules, docs/content/filtering.md, so a filter written for one
// tool means the same in the other; differences are marked *):
//   *        any run of characters within one path component (never '/')
//   ?        one character (one UTF-8 sequence) other than '/'
//   **       any run of characters, '/' included
//   **/      (the component form: "**" then '/', at the start or after a '/') zero or more whole
//            components: "a/**/b" matches "a/b", "a/x/b" and "a/x/y/b" (* rclone's regex form
//            would need one component at least; gitignore and rsync match zero, and "a/b" is what a
//            user of "a/**/b" expects)
//   [...]    one character (code point, not '/') from a class: members, ranges "a-z", "!" or "^"
//            first negates, "]" first is a member, "-" first or last is a member, "\c" escapes
//   \c       the character c itself (so "\*", "\[", "\{", "\\")
//   {a,b}    * refused at compile time (rclone's alternatives): give the option twice instead;
//            a literal brace is written "\{" (refusing beats silently matching the braces)
// Anchoring, as rclone: a pattern starting with '/' matches the whole path from the top of the
// tree; any other pattern matches a suffix of the path that starts at a component boundary, so
// "*.pt" matches "a.pt" and "x/y/a.pt", "logs/*.txt" matches "logs/a.txt" and "run1/logs/a.txt",
// but "file.jpg" never matches "afile.jpg". * A pattern ending in '/' names a directory and means
// everything under it ("logs/" is "logs/**"): sync handles files, and a rule that matched no file
// at all (as rclone's directory-only rules do for files) would be a silent no-op.
// Matching is byte-exact and case-sensitive. Compiling allocates; matching never does (it
// backtracks over the compiled tokens, recursing only at '*' and '**').
//
// Rule list: the --include and --exclude options in the order given on the command line; the
// first rule that matches a path decides; when none matches, the path is excluded if any include
// rule was given (rclone's implied "- **" after includes: "--include 'step-*/**'" alone means only
// those) and included otherwise. That is rclone's --filter order (* its --include/--exclude
// flags are grouped by kind, which its docs warn is surprising) and rsync's first-match rule.
#ifndef TB_PATHGLOB_H
#define TB_PATHGLOB_H
#include "err.h"
#include <stddef.h>
#include <stdint.h>

struct tb_glob {
    struct tb_gtok { uint8_t kind, c; uint16_t cls; } *tok; /* ends with a kind-0 token */
    uint32_t (*range)[2];   /* class members as code point ranges [lo, hi] */
    struct tb_gcls { uint32_t first, n; uint8_t neg; } *cls;
    int anchored;
};

/* Compile pat. Errors (exit 64): empty, unterminated class or escape, braces. */
int tb_glob_compile(struct tb_glob *g, const char *pat, tb_err *e);
/* 1 when path (len bytes) matches. */
int tb_glob_match(const struct tb_glob *g, const char *path, size_t len);
void tb_glob_free(struct tb_glob *g);

struct tb_filter {
    struct tb_frule { struct tb_glob g; int include; } *rule;
    size_t n, cap;
    int any_include;
};

void tb_filter_init(struct tb_filter *f);
/* Append a rule (include 1 for --include, 0 for --exclude). On error e names the pattern. */
int tb_filter_add(struct tb_filter *f, int include, const char *pat, tb_err *e);
/* 1 when path is in scope (first matching rule, else the default above). */
int tb_filter_allows(const struct tb_filter *f, const char *path, size_t len);
void tb_filter_free(struct tb_filter *f);
#endif
