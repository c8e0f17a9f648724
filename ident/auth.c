/*
 * auth — the account core's object, token pairs and the document helpers the REST side
 * (api/accounts/) shares.
 */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "ident/auth_int.h"
#include "ident/passwd.h"

#define WAIT_PER_SLOT 32 /* requests allowed to wait per hashing slot before 503 */

auth *auth_new(const auth_opts *o)
{
    auth *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->o = *o;
    a->o.code_key = NULL; /* copied below; the caller's buffer need not outlive us */
    if (o->code_key)
        memcpy(a->code_key, o->code_key, AUTH_SECRET_LEN);
    else if (RAND_bytes(a->code_key, AUTH_SECRET_LEN) != 1) {
        free(a);
        return NULL;
    }
    if (!a->o.access_ttl_s)
        a->o.access_ttl_s = 900;
    if (!a->o.refresh_ttl_s)
        a->o.refresh_ttl_s = 2592000;
    if (!a->o.code_ttl_s)
        a->o.code_ttl_s = 900;
    if (!a->o.max_hashes) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        a->o.max_hashes = n > 0 ? (unsigned)n : 1;
    }
    if (!a->o.mqtt_max_fail)
        a->o.mqtt_max_fail = AUTH_IP_MAX_FAIL;
    if (!a->o.mqtt_fail_window_s)
        a->o.mqtt_fail_window_s = AUTH_IP_WINDOW_MS / 1000;
    if (!a->o.reset_mails_per_hour)
        a->o.reset_mails_per_hour = 3;
    if (!a->o.tracked_names)
        a->o.tracked_names = 16384;
    if (!a->o.ip_max_fails)
        a->o.ip_max_fails = AUTH_IP_MAX_FAIL;
    if (auth__iplim_init(&a->ip, a->o.ip_max_fails, AUTH_IP_WINDOW_MS) < 0) {
        free(a);
        return NULL;
    }
    if (auth__names_init(&a->logins, a->o.tracked_names) < 0 ||
        auth__names_init(&a->mails, a->o.tracked_names) < 0) {
        auth__names_free(&a->logins);
        auth__iplim_free(&a->ip);
        free(a);
        return NULL;
    }
    int64_t window_ms = (int64_t)a->o.mqtt_fail_window_s * 1000;
    if (auth__iplim_init(&a->peer, a->o.mqtt_max_fail, window_ms) < 0) {
        auth__names_free(&a->logins);
        auth__names_free(&a->mails);
        auth__iplim_free(&a->ip);
        free(a);
        return NULL;
    }
    passwd_init(); /* main thread, before the loops: the dummy hash for unknown users */
    auth__cache_init(&a->cache);
    auth__ucache_init(&a->users);
    pthread_mutex_init(&a->gate.mu, NULL);
    a->gate.max = a->o.max_hashes;
    a->gate.max_wait = a->o.max_hashes * WAIT_PER_SLOT;
    return a;
}

void auth_free(auth *a)
{
    if (!a)
        return;
    OPENSSL_cleanse(a->code_key, sizeof a->code_key);
    auth__cache_free(&a->cache);
    auth__ucache_free(&a->users);
    auth__iplim_free(&a->ip);
    auth__iplim_free(&a->peer);
    auth__names_free(&a->logins);
    auth__names_free(&a->mails);
    pthread_mutex_destroy(&a->gate.mu);
    free(a);
}

int64_t auth__now_ms(void) { return clock_wall_ms(); }

/* ---- tokens ---------------------------------------------------------------------------- */

int auth__pair_new(auth__pair *p)
{
    if (auth__token_new(p->access, p->access_hash) < 0 ||
        auth__token_new(p->refresh, p->refresh_hash) < 0)
        return -1;
    return 0;
}

int auth__pair_store(store_tx *tx, const auth *a, const auth__pair *p, const char *user_id,
                     const char *family, int64_t now)
{
    int rc = store_token_put(tx, p->access_hash, user_id, family, STORE_TOKEN_ACCESS,
                             now + (int64_t)a->o.access_ttl_s * 1000);
    if (rc < 0)
        return rc;
    return store_token_put(tx, p->refresh_hash, user_id, family, STORE_TOKEN_REFRESH,
                           now + (int64_t)a->o.refresh_ttl_s * 1000);
}

int auth__pair_store_new(store_tx *tx, const auth *a, const auth__pair *p, const char *user_id,
                         int64_t now)
{
    char family[AUTH_ID_LEN + 1];
    if (auth__id_new(family, now) < 0)
        return STORE_EIO;
    return auth__pair_store(tx, a, p, user_id, family, now);
}

/* ---- documents --------------------------------------------------------------------------- */

bool auth__doc_bool(const bson_t *d, const char *key)
{
    bson_iter_t it;
    return d && bson_iter_init_find(&it, d, key) && BSON_ITER_HOLDS_BOOL(&it) &&
           bson_iter_bool(&it);
}

static void view_str(bson_t *out, const char *name, const bson_t *user, const char *key)
{
    const char *v = json_doc_str(user, key);
    BSON_APPEND_UTF8(out, name, v ? v : "");
}

void auth__user_view(const bson_t *user, bson_t *out)
{
    view_str(out, "id", user, "_id");
    view_str(out, "username", user, "username");
    view_str(out, "email", user, "email");
    view_str(out, "given_name", user, "given_name");
    view_str(out, "family_name", user, "family_name");
    BSON_APPEND_BOOL(out, "confirmed", auth__doc_bool(user, "confirmed"));
    BSON_APPEND_BOOL(out, "admin", auth__doc_bool(user, "admin"));
    BSON_APPEND_INT64(out, "created_at", json_doc_i64(user, "created_at"));
}

char *auth__secret_dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void auth__secret_free(char *s)
{
    if (!s)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}
