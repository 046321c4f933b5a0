/* lib/sync_cache: entries found only with the same size and ETag, keys with tabs, newlines and
 * '%' round-trip, a pass's notes merged over what it served (the last note of a key wins, a
 * deletion drops the entry), nothing committed means the old file stays, a corrupt file is an
 * empty cache. */
#include "sync_cache.h"
#include "tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[256];

static int look(struct tb_sync_cache *c, const char *key, size_t klen, uint64_t size, const char *etag, char *mt, char *sha)
{
    return tb_sync_cache_lookup(c, key, klen, size, etag, mt, sha);
}

int main(void)
{
    char dir[] = "/tmp/tb-sync-cache-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    snprintf(path, sizeof path, "%s/sub/dir/cache", dir);
    struct tb_sync_cache c;
    tb_err e = {0};
    char mt[32], sha[65];

    /* first pass: nothing known; serve three keys, one with awkward bytes; note an upload */
    CHECK_INT(tb_sync_cache_open(&c, path, &e), 0, "open makes the directories (%s)", e.msg);
    CHECK(!look(&c, "a", 1, 1, "e1", mt, sha), "an empty cache knows nothing");
    tb_sync_cache_put(&c, "a", 1, 1, "e1", "100", "");
    tb_sync_cache_put(&c, "b\t%\nc", 5, 7, "e2", "200.5", "ab");
    tb_sync_cache_put(&c, "c", 1, 3, "", "300", ""); /* no ETag: never matchable, not kept */
    tb_sync_cache_put(&c, "d", 1, 4, "e4", "400", "");
    tb_sync_cache_note(&c, "bb", 2, 9, "e9", "900", "99");   /* uploaded: between b... and c */
    tb_sync_cache_note(&c, "d", 1, 5, "e5", "500", "");       /* replaced */
    tb_sync_cache_note(&c, "d", 1, 6, "e6", "600", "");       /* ... twice: the last wins */
    tb_sync_cache_note(&c, "a", 1, 0, NULL, NULL, NULL);       /* deleted */
    CHECK_INT(tb_sync_cache_commit(&c, &e), 0, "commit (%s)", e.msg);
    tb_sync_cache_close(&c);

    /* second pass: lookups in key order */
    CHECK_INT(tb_sync_cache_open(&c, path, &e), 0, "reopen");
    CHECK(!look(&c, "a", 1, 1, "e1", mt, sha), "a deleted key is gone");
    CHECK(look(&c, "b\t%\nc", 5, 7, "e2", mt, sha) && strcmp(mt, "200.5") == 0 && strcmp(sha, "ab") == 0,
          "a key with a tab, a '%%' and a newline round-trips, with its metadata");
    CHECK(look(&c, "bb", 2, 9, "e9", mt, sha) && strcmp(mt, "900") == 0, "an uploaded key is known");
    CHECK(!look(&c, "c", 1, 3, "", mt, sha), "an entry without an ETag was not kept");
    CHECK(!look(&c, "d", 1, 5, "e5", mt, sha), "the earlier of two notes lost");
    tb_sync_cache_close(&c);
    CHECK_INT(tb_sync_cache_open(&c, path, &e), 0, "reopen");
    CHECK(look(&c, "d", 1, 6, "e6", mt, sha) && strcmp(mt, "600") == 0, "the later note won");
    tb_sync_cache_close(&c); /* no commit: the file stays as it was */

    CHECK_INT(tb_sync_cache_open(&c, path, &e), 0, "reopen");
    CHECK(!look(&c, "bb", 2, 9, "other-etag", mt, sha), "another ETag is another object: not used");
    CHECK(!look(&c, "bb", 2, 10, "e9", mt, sha), "another size: not used");
    CHECK(look(&c, "d", 1, 6, "e6", mt, sha), "a pass without a commit left the file alone");
    tb_sync_cache_close(&c);

    FILE *f = fopen(path, "w");
    fputs("garbage without tabs\n", f);
    fclose(f);
    CHECK_INT(tb_sync_cache_open(&c, path, &e), 0, "a corrupt file opens");
    CHECK(!look(&c, "d", 1, 6, "e6", mt, sha), "... as an empty cache");
    tb_sync_cache_close(&c);

    char *p = tb_sync_cache_path("id");
    CHECK(p && strstr(p, "/trainbox/sync/") != NULL, "the cache lives under the user's cache directory (%s)", p ? p : "");
    free(p);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    return tap_done();
}
