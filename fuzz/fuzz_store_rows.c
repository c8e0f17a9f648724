/*
 * Fuzzes the store's row decoders: arbitrary bytes are written with raw SQL as a session
 * document, a queued message (body + delivery row) and a retained message, then read
 * back with store_session_each / store_msg_each / store_retained_each. The reads must
 * skip what they cannot decode and never crash; a session document they hand out must
 * be safe to walk completely (it is turned into JSON here).
 *
 * Input layout:
 *   [0] column types: bit0 doc as TEXT, bit1 qos as TEXT, bit2 state as REAL, bit3 topic
 *       as TEXT, bit4 payload NULL
 *   [1] qos  [2] state  [3..4] pid (may exceed 16 bits)  [5] split point
 *   [6..]   cut at the split point into A (doc, topic) and B (payload)
 * Every write is rolled back, so each input starts from an empty database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/log.h"
#include "store/store_int.h"

typedef struct input {
    const uint8_t *p;
    size_t n;
} input;

static void bind_bytes(sqlite3_stmt *s, int col, const uint8_t *p, size_t n, bool text)
{
    if (text)
        sqlite3_bind_text(s, col, (const char *)p, (int)n, SQLITE_TRANSIENT);
    else
        sqlite3_bind_blob(s, col, n ? (const void *)p : "", (int)n, SQLITE_TRANSIENT);
}

/* Runs @sql once with the fuzz fields bound by position. Constraint failures are fine. */
static void insert(sqlite3 *db, const char *sql, const uint8_t *d, const uint8_t *a, size_t an,
                   const uint8_t *b, size_t bn)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        abort();
    for (int i = 1; i <= sqlite3_bind_parameter_count(s); i++) {
        const char *name = sqlite3_bind_parameter_name(s, i);
        switch (name[1]) {
        case 'a':
            bind_bytes(s, i, a, an, d[0] & 1);
            break;
        case 't':
            bind_bytes(s, i, a, an, d[0] & 8);
            break;
        case 'b':
            if (d[0] & 16)
                sqlite3_bind_null(s, i);
            else
                bind_bytes(s, i, b, bn, false);
            break;
        case 'q':
            if (d[0] & 2)
                sqlite3_bind_text(s, i, "1x", -1, SQLITE_STATIC);
            else
                sqlite3_bind_int(s, i, (int8_t)d[1]);
            break;
        case 's':
            if (d[0] & 4)
                sqlite3_bind_double(s, i, d[2] / 3.0);
            else
                sqlite3_bind_int(s, i, d[2] % 4);
            break;
        case 'p':
            sqlite3_bind_int(s, i, (d[3] << 9) | d[4]);
            break;
        case 'r':
            sqlite3_bind_int(s, i, d[1] >> 7);
            break;
        }
    }
    sqlite3_step(s);
    sqlite3_finalize(s);
}

static int on_session(void *arg, const char *id, const bson_t *doc)
{
    size_t len;
    char *json = bson_as_relaxed_extended_json(doc, &len);
    bson_free(json);
    return 0;
}

static volatile uint8_t sink; /* makes the reads below real */

static int on_msg(void *arg, const store_msg *m)
{
    uint8_t x = 0;
    if (m->state > STORE_MSG_RELEASED || m->qos > 2 || m->topic_len == 0)
        abort();
    for (uint32_t i = 0; i < m->topic_len; i++)
        x ^= m->topic[i];
    for (uint32_t i = 0; i < m->payload_len; i++)
        x ^= m->payload[i];
    sink = x;
    return 0;
}

static int on_retained(void *arg, const store_retained *r)
{
    if (r->qos > 2 || r->topic_len == 0 || r->payload_len == 0)
        abort();
    return 0;
}

static int one(store_tx *tx, void *arg)
{
    const input *in = arg;
    const uint8_t *d = in->p, *rest = d + 6;
    size_t n = in->n - 6, cut = n ? d[5] % (n + 1) : 0;
    const uint8_t *a = rest, *b = rest + cut;
    size_t an = cut, bn = n - cut;

    insert(tx->db, "INSERT INTO sessions VALUES('c', :a)", d, a, an, b, bn);
    insert(tx->db, "INSERT INTO messages VALUES(1, :t, :b, :r)", d, a, an, b, bn);
    insert(tx->db, "INSERT INTO session_msgs VALUES('c', 1, :q, :s, :p)", d, a, an, b, bn);
    insert(tx->db, "INSERT INTO retained VALUES(:t, :q, :b)", d, a, an, b, bn);
    store_session_each(tx, on_session, NULL);
    store_msg_each(tx, "c", on_msg, NULL);
    store_retained_each(tx, on_retained, NULL);
    return -1; /* roll back: the next input starts empty */
}

static store *fuzz_store(void)
{
    static store *st;
    static char dir[] = "/tmp/fuzz_store_rows.XXXXXX";
    char path[64], err[256];

    if (st)
        return st;
    if (!mkdtemp(dir))
        abort();
    log_set_level(LOG_ERROR); /* a skipped row logs a warning: too chatty at fuzz speed */
    snprintf(path, sizeof path, "%s/db", dir);
    store_opts o = {.path = path, .sync_normal = true};
    st = store_open(&o, err, sizeof err);
    if (!st)
        abort();
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 6 || size > 65536)
        return 0;
    input in = {data, size};
    store_sync(fuzz_store(), one, &in);
    return 0;
}
