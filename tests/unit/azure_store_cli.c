/* azure_store_cli: drives lib/store_azure's prepare/finish through lib/http the way lib/store's core
 * does (prepare -> HTTP with retries -> finish; local completion for MP_CREATE/MP_ABORT; parts in
 * parallel on one multi handle), so tests/azure.bats can check the backend against Azurite before
 * the store core and `upload` exist. Not a unit test (it needs a server).
 *   azure_store_cli [-p PART] [-r ATTEMPTS] [-m MAXKEYS] [-n] CMD az://ACCT/CONT[/KEY] [ARGS]
 *   head | get [OFF [LEN]] | put FILE | mput FILE (blocks of PART bytes) | list [DELIM] | delete */
#include "err.h"
#include "hash.h"
#include "http.h"
#include "store.h"
#include "uri.h"
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Stand-in for lib/store.c's mapping until the core is merged (the real one wins when linked). */
__attribute__((weak)) int tb_store_http_error(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h, tb_err *e)
{
    (void)s;
    int code = h->err.code ? h->err.code : tb_http_class_exit(h->cls);
    if (h->cls == TB_HTTP_PRECOND) code = TB_EDATA;
    return tb_fail(e, code, "%s: %s", r->key ? r->key : "", h->err.msg[0] ? h->err.msg : "failed");
}

static int prep(struct tb_http_req *h, void *ud, tb_err *e)
{
    struct tb_store_req *r = ud;
    return r->store->be->prepare(r->store, r, h, e);
}

static size_t sink(void *ud, const void *p, size_t n)
{
    struct tb_store_req *r = ud;
    return r->sink(r->sink_ud, p, n);
}

static void done(struct tb_http_req *h, void *ud)
{
    (void)h;
    (void)ud;
}

static void start(struct tb_store *s, struct tb_store_req *r)
{
    r->store = s;
    memset(&r->h, 0, sizeof r->h);
    r->h.prepare = prep;
    r->h.done = done;
    r->h.ud = r;
    if (r->sink) r->h.sink = sink;
}

/* After the HTTP exchange: finish fills outputs or the error. */
static int end(struct tb_store *s, struct tb_store_req *r)
{
    r->http_status = (int)r->h.status;
    r->retries = r->h.retries;
    r->status = s->be->finish(s, r, &r->h, &r->err);
    return r->status;
}

static int run(struct tb_store *s, struct tb_http *http, struct tb_store_req *r)
{
    tb_err pe = {0};
    struct tb_http_req probe = {0};
    int p = s->be->prepare(s, r, &probe, &pe); /* local completion needs no HTTP */
    tb_http_req_clear(&probe);
    if (p == TB_STORE_LOCAL) return 0;
    if (p) { r->err = pe; return r->status = p; }
    start(s, r);
    tb_err e = {0};
    tb_http_run(http, &r->h, &e);
    return end(s, r);
}

static size_t out_sink(void *ud, const void *p, size_t n)
{
    (void)ud;
    return fwrite(p, 1, n, stdout);
}

static void md5_b64(int fd, uint64_t off, uint64_t len, char out[32])
{
    unsigned char *buf = malloc(len ? len : 1), md[16];
    ssize_t got = pread(fd, buf, len, (off_t)off);
    unsigned ml = 0;
    EVP_Digest(buf, got > 0 ? (size_t)got : 0, md, &ml, EVP_md5(), NULL);
    EVP_EncodeBlock((unsigned char *)out, md, 16);
    free(buf);
}

static void file_hashes(const char *path, char sha[65], char md5b64[32])
{
    struct tb_digest *d = tb_digest_new();
    char buf[65536], md5hex[33];
    FILE *f = fopen(path, "rb");
    size_t n;
    while (f && (n = fread(buf, 1, sizeof buf, f)) > 0) tb_digest_update(d, buf, n);
    if (f) fclose(f);
    tb_digest_final(d, sha, md5hex);
    tb_digest_free(d);
    unsigned char raw[16];
    for (int i = 0; i < 16; i++) { unsigned v; sscanf(md5hex + 2 * i, "%2x", &v); raw[i] = (unsigned char)v; }
    EVP_EncodeBlock((unsigned char *)md5b64, raw, 16);
}

static void print_info(const struct tb_obj_info *in)
{
    printf("exists=%d size=%llu md5=%s sha256=%s etag=%s mtime=%s\n", in->exists, (unsigned long long)in->size,
           in->content_md5, in->sha256, in->etag[0] ? "yes" : "no", in->mtime > 1000000000 ? "yes" : "no");
}

int main(int argc, char **argv)
{
    uint64_t part = 4u << 20;
    int c, maxkeys = 0, nclob = 0;
    struct tb_http_cfg hc;
    tb_http_cfg_defaults(&hc);
    hc.base_ms = 20;
    hc.cap_ms = 200;
    while ((c = getopt(argc, argv, "p:r:m:n")) != -1) {
        switch (c) {
        case 'p': part = strtoull(optarg, NULL, 10); break;
        case 'r': hc.max_attempts = atoi(optarg); break;
        case 'm': maxkeys = atoi(optarg); break;
        case 'n': nclob = 1; break;
        default: return TB_EUSAGE;
        }
    }
    if (argc - optind < 2) return tb_usage("azure_store_cli", "CMD URI [ARGS]");
    const char *cmd = argv[optind], *uri = argv[optind + 1];
    const char *arg = argc - optind > 2 ? argv[optind + 2] : NULL;
    tb_err e = {0};
    struct tb_store s;
    memset(&s, 0, sizeof s);
    if (tb_uri_parse(uri, &s.root, &e)) return tb_report("azure_store_cli", &e);
    struct tb_http *http = NULL;
    int rc = tb_store_azure_open(&s, &e);
    if (!rc) rc = tb_http_new(&http, &hc, &e);
    if (rc) {
        tb_uri_free(&s.root);
        return tb_report("azure_store_cli", &e);
    }
    const char *key = s.root.key;
    struct tb_store_req r;
    memset(&r, 0, sizeof r);
    r.key = key;
    r.body = TB_BODY_NONE;
    int fd = -1;
    char sha[65], md5[32];
    if (strcmp(cmd, "head") == 0) {
        r.op = TB_OP_HEAD;
        if (!(rc = run(&s, http, &r))) print_info(&r.info);
    } else if (strcmp(cmd, "get") == 0) {
        r.op = TB_OP_GET;
        r.range_off = arg ? strtoull(arg, NULL, 10) : 0;
        r.range_len = argc - optind > 3 ? strtoull(argv[optind + 3], NULL, 10) : 0;
        r.sink = out_sink;
        rc = run(&s, http, &r);
        fflush(stdout);
        if (!rc) { fprintf(stderr, "info: "); fflush(stderr); }
    } else if (strcmp(cmd, "delete") == 0) {
        r.op = TB_OP_DELETE;
        rc = run(&s, http, &r);
    } else if (strcmp(cmd, "list") == 0) {
        const char *token = NULL;
        char *tok = NULL;
        int pages = 0;
        do {
            memset(&r, 0, sizeof r);
            r.op = TB_OP_LIST;
            r.prefix = key;
            r.delimiter = arg;
            r.token = token;
            r.max_keys = maxkeys;
            r.body = TB_BODY_NONE;
            rc = run(&s, http, &r);
            pages++;
            for (size_t i = 0; !rc && i < r.nitems; i++)
                printf("%s %llu %s %s\n", r.items[i].key, (unsigned long long)r.items[i].size, r.items[i].content_md5,
                       r.items[i].sha256[0] ? r.items[i].sha256 : "-");
            for (size_t i = 0; !rc && i < r.nprefixes; i++) printf("PRE %s\n", r.prefixes[i]);
            free(tok);
            tok = r.next_token ? strdup(r.next_token) : NULL;
            token = tok;
            for (size_t i = 0; i < r.nitems; i++) free(r.items[i].key);
            for (size_t i = 0; i < r.nprefixes; i++) free(r.prefixes[i]);
            free(r.items);
            free(r.prefixes);
            free(r.next_token);
            tb_http_req_clear(&r.h);
        } while (!rc && token);
        free(tok);
        fprintf(stderr, "pages=%d\n", pages);
    } else if ((strcmp(cmd, "put") == 0 || strcmp(cmd, "mput") == 0) && arg) {
        struct stat st;
        fd = open(arg, O_RDONLY);
        if (fd < 0 || fstat(fd, &st)) return TB_ENOINPUT;
        file_hashes(arg, sha, md5);
        if (strcmp(cmd, "put") == 0) {
            r.op = TB_OP_PUT;
            r.body = (struct tb_body){fd, NULL, 0, (uint64_t)st.st_size};
            r.content_md5 = md5;
            r.sha256 = sha;
            r.if_none_match = nclob;
            if (!(rc = run(&s, http, &r))) print_info(&r.info);
        } else {
            uint64_t size = (uint64_t)st.st_size, np = (size + part - 1) / part;
            struct tb_store_req cr;
            memset(&cr, 0, sizeof cr);
            cr.op = TB_OP_MP_CREATE;
            cr.key = key;
            cr.sha256 = sha;
            cr.content_type = "application/x-tar";
            rc = run(&s, http, &cr);
            struct tb_store_req *parts = calloc(np, sizeof *parts);
            struct tb_store_part *pl = calloc(np, sizeof *pl);
            char (*pmd5)[32] = calloc(np, 32);
            /* every part at once: lib/http keeps max_conns in flight and queues the rest */
            for (uint64_t i = 0; !rc && i < np; i++) {
                struct tb_store_req *p = &parts[i];
                p->op = TB_OP_MP_PART;
                p->key = key;
                p->upload_id = cr.upload_id_out;
                p->part_num = (int)i + 1;
                p->part_off = i * part;
                p->body = (struct tb_body){fd, NULL, i * part, size - i * part < part ? size - i * part : part};
                md5_b64(fd, p->body.off, p->body.len, pmd5[i]);
                p->content_md5 = pmd5[i];
                start(&s, p);
                tb_http_submit(http, &p->h);
            }
            while (!rc && tb_http_perform(http, 100) > 0) {}
            for (uint64_t i = 0; !rc && i < np; i++) {
                if (end(&s, &parts[i])) { rc = parts[i].status; e = parts[i].err; }
                pl[i].num = (int)i + 1;
                snprintf(pl[i].etag, sizeof pl[i].etag, "%s", parts[i].part_etag);
                r.retries += parts[i].retries;
            }
            if (!rc) {
                r.op = TB_OP_MP_COMPLETE;
                r.upload_id = cr.upload_id_out;
                r.parts = pl;
                r.nparts = (int)np;
                r.content_md5 = md5;
                r.total_size = size;
                r.if_none_match = nclob;
                int before = r.retries;
                if (!(rc = run(&s, http, &r))) print_info(&r.info);
                r.retries += before;
            } else {
                struct tb_store_req ab;
                memset(&ab, 0, sizeof ab);
                ab.op = TB_OP_MP_ABORT;
                ab.key = key;
                ab.upload_id = cr.upload_id_out;
                run(&s, http, &ab);
            }
            for (uint64_t i = 0; i < np; i++) tb_http_req_clear(&parts[i].h);
            free(parts);
            free(pl);
            free(pmd5);
            if (r.be_scratch) s.be->free_scratch(&r);
        }
    } else {
        rc = tb_usage("azure_store_cli", "unknown command %s", cmd);
        r.err.code = 0;
    }
    if (rc && !e.code) e = r.err;
    if (rc && e.code) rc = tb_report("azure_store_cli", &e);
    fprintf(stderr, "retries=%d precond=%d\n", r.retries, r.precond_failed);
    if (r.be_scratch) s.be->free_scratch(&r);
    tb_http_req_clear(&r.h);
    if (fd >= 0) close(fd);
    s.be->close(&s);
    tb_http_free(http);
    tb_uri_free(&s.root);
    return rc;
}
