/* vast: the Vast.ai REST API as the official client (vast-ai/vast-cli) uses it, over lib/http, and
 * the pure pieces `trainbox vast` builds on (labels, the environment passed to an instance, the
 * onstart wrapper, status classes, redaction of instance records).
 *
 * Base URL from VAST_URL (default https://console.vast.ai), paths under /api/v0 (the paged list
 * under /api/v1); the key from VAST_API_KEY, else ~/.config/vastai/vast_api_key, sent only as
 * `Authorization: Bearer KEY` and only to the base URL (never to a logs result_url, never in a
 * message or a -v line: -v prints methods and URLs, which never carry it).
 *
 * Retries: 429, 502, 503 and 504 (what the official client retries, and the gateway answers), and
 * connection failures before the request went out (no host, refused, TLS handshake). Everything else
 * is final. A create (PUT /asks/ID/) is never retried once it may have reached the server: a
 * transport error after the request was sent, or any 5xx, is reported as *ambiguous* so the caller
 * looks for the instance by its label instead of renting a second machine.
 * Exit codes: 401, and 404 whose body says auth_error, are 77; another 404 is 66; other 4xx 65;
 * 5xx and transport failures 69. */
#ifndef TB_VAST_H
#define TB_VAST_H
#include "err.h"
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define TB_VAST_URL_DEFAULT "https://console.vast.ai"

struct tb_vast_cfg {
    const char *url;     /* base URL (NULL: VAST_URL, else the default) */
    const char *key;     /* the API key (required) */
    int verbose;         /* -v: one line per attempt on stderr (no header, so never the key) */
    int max_attempts;    /* per request on retryable answers (default 6) */
    int base_ms;         /* backoff base (default 500; the official client starts at 150 ms) */
    long timeout_s;      /* an attempt without progress for this long fails (default 30) */
    FILE *dry_run;       /* non-NULL: requests that change something (create, destroy, start, stop,
                          * label, request_logs) are printed there as JSON lines, key redacted,
                          * instead of sent; reads are sent */
};

struct tb_vast;

/* The key from VAST_API_KEY, else the first line of ~/.config/vastai/vast_api_key (trimmed).
 * *key malloc'd. None: TB_ENOPERM naming both places. */
int tb_vast_key_load(char **key, tb_err *e);

int tb_vast_open(struct tb_vast **out, const struct tb_vast_cfg *cfg, tb_err *e);
void tb_vast_close(struct tb_vast *v);
const char *tb_vast_base_url(const struct tb_vast *v);

/* POST /api/v0/bundles/ with query (the JSON body of lib/vast_query); *offers = the "offers" array
 * (detached, caller frees). */
int tb_vast_search(struct tb_vast *v, const cJSON *query, cJSON **offers, tb_err *e);
/* PUT /api/v0/asks/{offer}/ with body. *id = new_contract. *ambiguous = 1 when the failure may have
 * created an instance (see above); 0 when it certainly did not. Sent once (429 aside). */
int tb_vast_create(struct tb_vast *v, long long offer, const cJSON *body, long long *id, int *ambiguous, tb_err *e);
/* GET /api/v1/instances/ page by page (next_token -> after_token). label non-NULL: only instances
 * with exactly that label (filtered by the server and checked again here). *list = a JSON array. */
int tb_vast_list(struct tb_vast *v, const char *label, cJSON **list, tb_err *e);
/* GET /api/v0/instances/{id}/?owner=me: the object under "instances"; null there: 66. */
int tb_vast_show(struct tb_vast *v, long long id, cJSON **inst, tb_err *e);
/* DELETE /api/v0/instances/{id}/. */
int tb_vast_destroy(struct tb_vast *v, long long id, tb_err *e);
/* PUT /api/v0/instances/{id}/ with {"state": "running"|"stopped"} or {"label": L}. */
int tb_vast_set_state(struct tb_vast *v, long long id, const char *state, tb_err *e);
int tb_vast_set_label(struct tb_vast *v, long long id, const char *label, tb_err *e);
/* PUT /api/v0/instances/request_logs/{id}/ {"tail": "N"}, then GET the result_url it names (no
 * key sent: another host) until it answers 200, polls times poll_ms apart. *text malloc'd. */
int tb_vast_logs(struct tb_vast *v, long long id, long tail, int polls, long poll_ms, char **text, tb_err *e);
/* GET /api/v0/users/current, with "api_key" (the account's key, which it echoes) removed. */
int tb_vast_account(struct tb_vast *v, cJSON **user, tb_err *e);

/* ---- pure */

/* "tb-YYYYmmdd-HHMMSS-xxxxxxxx" (UTC, 8 hex digits of rnd): one launch's label. buf >= 32. */
void tb_vast_label_new(char *buf, size_t n, time_t now, uint64_t rnd);
/* Is name a variable a store or the Hub needs on the instance (DESIGN.md's credential variables and
 * the endpoint/region settings that go with them)? VAST_API_KEY is not: the instance has its own. */
int tb_vast_env_forwarded(const char *name);
/* Add every forwarded variable that get() finds (non-empty) to env (an object), unless env has it
 * already (--env wins). get is getenv-like. Returns how many were added. */
int tb_vast_env_forward(cJSON *env, const char *(*get)(const char *name, void *ud), void *ud);
/* Does a variable of this name hold a secret (KEY, SECRET, TOKEN, PASSWORD, CREDENTIAL,
 * CONNECTION_STRING in its name, any case)? */
int tb_vast_secret_name(const char *name);
/* Blank secrets in an API record, in place: values of secret-named members anywhere ("api_key",
 * "jupyter_token", ...), and of secret-named variables in "env"/"extra_env" (an object, or a list of
 * [name, value] pairs). */
void tb_vast_redact(cJSON *x);

enum tb_vast_state { TB_VAST_PENDING, TB_VAST_RUNNING, TB_VAST_FAILED };
/* actual_status -> what a waiting launch does: running; exited, stopped, frozen, offline, unknown
 * fail; anything else (null, created, loading, scheduling, ...) is still on its way. */
enum tb_vast_state tb_vast_state_of(const char *actual_status);

/* Money the account can spend, from users/current: "credit" when present, else "balance".
 * 0, or -1 when neither is a number. */
int tb_vast_funds(const cJSON *user, double *usd);
/* Seconds since the instance's start_date (epoch seconds), or -1 when it has none. */
double tb_vast_age_s(const cJSON *inst, time_t now);
/* A number member (also given as a numeric string); -1 when absent. */
double tb_vast_num(const cJSON *o, const char *name);
/* The id member as an integer (number or string), -1 when absent. */
long long tb_vast_id(const cJSON *o);
/* The instance id of a create answer's "new_contract" (number or string), -1 when it names none. */
long long tb_vast_new_contract(const cJSON *answer);

/* An offer as `vast offers` prints it: id, gpu_name, num_gpus, gpu_ram (GB), cpu_ram (GB),
 * disk_space, dph_total, reliability, inet_down, inet_up, geolocation, cuda_max_good, machine_id. */
cJSON *tb_vast_offer_summary(const cJSON *offer);

/* The onstart script of a launch: it writes script (gzip + base64, so no quoting or heredoc can break
 * it) to /root/trainbox/start_vast.sh and execs it with args (each shell-quoted). watchdog_s > 0
 * adds a backstop that destroys the instance through api_url after that many seconds whatever the
 * script does (DELETE with the instance's own CONTAINER_ID and CONTAINER_API_KEY, by curl or wget).
 * Returns a malloc'd string. */
char *tb_vast_onstart(const char *script, size_t len, const char *const *args, int nargs, double watchdog_s,
                      const char *api_url, const char *label);
/* s quoted for a POSIX shell ('...' with ' as '\''). malloc'd. */
char *tb_vast_shquote(const char *s);
#endif
