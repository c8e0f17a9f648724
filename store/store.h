/**
 * store — durable state of iotcloud behind one backend-neutral API.
 *
 * Backends: "sqlite" (embedded default: one file, WAL) and later "mongodb". Documents and
 * flexible fields are BSON in both; hot broker rows (queued messages, retained messages)
 * have typed fields so they can be written without building a document.
 *
 * Threading. A store owns one store thread once store_start() ran. Worker loops never
 * call the database: they fill a store_job and store_submit() it (thread-safe, never
 * blocks). The store thread takes every job queued (up to max_batch_jobs, waiting at
 * most batch_window_us for more while the previous commit is young), runs them in ONE
 * transaction, each job inside its own savepoint (a failing job rolls back alone), commits
 * once (one fsync: group commit), then calls each job's done() in submission order. done()
 * runs on the store thread and must not block: it typically posts the job back to the
 * submitting loop (net_loop_post), which is how completions reach loops. Jobs run and
 * complete in FIFO order of submission (across all submitters, in the order the queue
 * received them).
 * Before store_start() (start-up restore, CLI, unit tests) and from any non-loop thread,
 * store_sync() runs a function in a transaction and waits for it.
 * The store_tx_* / store_<entity>_* functions below take a store_tx and may only be called
 * from inside a job's run() or a store_sync() function, i.e. on the thread that owns the
 * transaction.
 *
 * Ownership. Pointers passed in (strings, bson_t, byte ranges) are only read during the
 * call. Callbacks of the *_each functions receive pointers valid only during the callback;
 * a bson_t returned through an out parameter (bson_t **out) is owned by the caller, who
 * frees it with bson_destroy().
 *
 * Errors: 0 or a negative STORE_E* code; store_strerror() names it.
 * Corrupt rows (undecodable BSON, unknown row version) met by *_each/get functions are
 * logged, counted in store_stats.rows_skipped and skipped (get returns STORE_ECORRUPT).
 */
#ifndef IOT_STORE_STORE_H
#define IOT_STORE_STORE_H

#include <bson/bson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store store;
typedef struct store_tx store_tx;

enum store_rc {
    STORE_OK = 0,
    STORE_ENOTFOUND = -1, /* no such row/document */
    STORE_EEXISTS = -2,   /* a unique key is already taken */
    STORE_ECORRUPT = -3,  /* a row could not be decoded */
    STORE_EIO = -4,       /* the backend failed (disk full, I/O error, ...) */
    STORE_ENOMEM = -5,
    STORE_EINVAL = -6,  /* bad argument */
    STORE_ESCHEMA = -7, /* database written by a newer iotcloud: refusing to start */
    STORE_ECLOSED = -8, /* submitted after store_close() began */
};

const char *store_strerror(int rc);

/** The entities @backend ("sqlite", "mongodb") does not hold yet, as a comma-separated
 *  list for an error message, or NULL when it holds every one. A server must refuse to
 *  start on a backend with missing entities rather than fail at run time. */
const char *store_backend_missing(const char *backend);

typedef struct store_opts {
    const char *backend;      /* "sqlite" (default when NULL) or "mongodb" */
    const char *path;         /* sqlite: database file, e.g. "data/iotcloud.db";
                               * mongodb: the URI, mongodb://HOST[:PORT][,...]/DB?... */
    const char *password;     /* mongodb: set on the URI (kept out of it); NULL = none */
    bool mongo_w1;            /* mongodb: write concern w:1 instead of majority+j (tests) */
    bool sync_normal;         /* sqlite: synchronous=NORMAL instead of FULL (see docs) */
    unsigned batch_window_us; /* longest wait for more jobs before a commit; 0 = 1000 */
    unsigned max_batch_jobs;  /* jobs per transaction at most; 0 = 4096 */
} store_opts;

/** Opens (creating if needed) and migrates the database to the current schema version.
 *  NULL with @err filled on failure (a database from a newer schema version is refused
 *  with a message that says so). Main thread. */
store *store_open(const store_opts *o, char *err, size_t errlen);
/** Starts the store thread. 0 or <0. */
int store_start(store *st);
/** Runs every job already submitted, stops the thread, closes the database. Jobs
 *  submitted afterwards complete with rc = STORE_ECLOSED. NULL is fine. */
void store_close(store *st);

/* ---- asynchronous jobs -------------------------------------------------------------- */

typedef struct store_job store_job;
struct store_job {
    store_job *next; /* private to the store */
    /** Store thread, inside the batch transaction (own savepoint). <0 rolls this job
     *  back (the others of the batch still commit). */
    int (*run)(store_tx *tx, store_job *j);
    /** Store thread, after the commit (j->rc = run's result, or the commit's error,
     *  which fails every job of the batch). Must not block. */
    void (*done)(store_job *j);
    int rc;
};

/** Thread-safe, never blocks. The job must stay valid until done() has been called. */
void store_submit(store *st, store_job *j);

/** Runs @fn in a transaction of its own (committed if it returns >= 0) and returns its
 *  result. Blocks: never call it on a worker loop. Serialised with the store thread. */
int store_sync(store *st, int (*fn)(store_tx *tx, void *arg), void *arg);

/** PRAGMA integrity_check (or the backend's equivalent). 0 when the database is sound,
 *  else <0 with the first problems in @msg. */
int store_check(store *st, char *msg, size_t len);

/* ---- backup and restore (backup.c) ---------------------------------------------------
 * Whole-database copies through SQLite's online backup API, for `iotcloud store backup`
 * and `iotcloud store restore`; each opens its own connections (any thread, blocking). */

/** Copies the database at @db_path into a new file @dst_path while a server may be
 *  using it: one read transaction, so the copy is the state of one commit (every
 *  transaction committed before the copy began is in it). The copy is written to
 *  "@dst_path.partial", checked (integrity_check), synced, then renamed; an existing
 *  @dst_path is refused. 0, or <0 with @err. */
int store_backup(const char *db_path, const char *dst_path, char *err, size_t errlen);

/** Replaces the database at @db_path (created when missing) with the backup @src_path.
 *  Refuses (<0 with @err, nothing changed) a source that fails integrity_check, is not
 *  an iotcloud database or has a newer schema than this build, and a database that
 *  another connection has open (the server must be stopped). */
int store_restore(const char *src_path, const char *db_path, char *err, size_t errlen);

/** Opens the database at @path without changing it and runs the checks store_restore runs
 *  on a backup (integrity_check, an iotcloud schema this build can open). For
 *  `iotcloud doctor`. 0, or <0 with @err. */
int store_probe(const char *path, char *err, size_t errlen);

/** Bucket bounds (µs, upper, inclusive) of the commit latency histogram. */
#define STORE_COMMIT_BUCKETS 12
extern const uint64_t store_commit_bounds_us[STORE_COMMIT_BUCKETS];

/** Counters for a metrics endpoint. Thread-safe snapshot. */
typedef struct store_stats {
    unsigned long long jobs;          /* jobs completed */
    unsigned long long jobs_failed;   /* jobs whose rc < 0 */
    unsigned long long batches;       /* transactions committed */
    unsigned long long batch_max;     /* most jobs in one transaction */
    unsigned long long queue_depth;   /* jobs submitted and not yet run, now */
    unsigned long long queue_max;     /* highest queue depth seen */
    unsigned long long commit_us_p50; /* commit (incl. fsync) latency percentiles */
    unsigned long long commit_us_p99;
    unsigned long long commit_us_max;
    unsigned long long rows_skipped; /* corrupt rows reported and skipped */
    unsigned long long checkpoints;  /* WAL checkpoints run off the commit path */
    /* commits per bucket of store_commit_bounds_us (not cumulative; the last one: slower
     * than every bound) and their total duration, for a Prometheus histogram */
    unsigned long long commit_bucket[STORE_COMMIT_BUCKETS + 1];
    unsigned long long commit_sum_us;
} store_stats;

void store_stats_get(store *st, store_stats *out);

/* ---- broker: persistent sessions -------------------------------------------------------
 * A session document (built and read by the broker, see broker/persist.c):
 *   { v: int32 (document version), last_seen: int64 (ms since epoch),
 *     subs: [ { f: utf8 filter, q: int32 qos }, ... ], rx2: [ int32 packet id, ... ],
 *     who: int32 (principal kind, absent = anonymous), wid: utf8 (principal id) }
 * The store treats it as opaque BSON keyed by client id. */

/** Inserts or replaces the session document of @client_id. */
int store_session_put(store_tx *tx, const char *client_id, const bson_t *doc);
/** Replaces the document of an existing session only: STORE_ENOTFOUND if it is absent
 *  (so a late update never resurrects a session deleted meanwhile). */
int store_session_update(store_tx *tx, const char *client_id, const bson_t *doc);
/** Deletes the session and every message queued for it. STORE_ENOTFOUND if absent. */
int store_session_delete(store_tx *tx, const char *client_id);
/** Calls @cb for every session (any order); stops early and returns @cb's value when it
 *  returns non-zero. Undecodable documents are skipped (counted). */
int store_session_each(store_tx *tx, int (*cb)(void *arg, const char *client_id, const bson_t *doc),
                       void *arg);

/* ---- broker: messages queued or in flight for a persistent session ------------------- */

enum store_msg_state {
    STORE_MSG_QUEUED = 0,   /* not sent yet (pid 0) */
    STORE_MSG_SENT = 1,     /* PUBLISH sent with pid, awaiting PUBACK / PUBREC */
    STORE_MSG_RELEASED = 2, /* PUBREL sent with pid, awaiting PUBCOMP (payload not needed) */
};

typedef struct store_msg {
    uint64_t mid; /* broker-wide message id: the same message queued for several sessions
                   * has the same mid (the backend may store its body once) */
    uint8_t qos;  /* QoS of this delivery (1 or 2) */
    bool retain;
    uint8_t state; /* enum store_msg_state */
    uint16_t pid;  /* packet id once sent, else 0 */
    const uint8_t *topic;
    uint16_t topic_len;
    const uint8_t *payload;
    uint32_t payload_len;
} store_msg;

/** Queues @m for @client_id (the session row must exist). Adding the same (client, mid)
 *  twice is STORE_EEXISTS. */
int store_msg_add(store_tx *tx, const char *client_id, const store_msg *m);
/** Records that (client, mid) was sent with @pid / released. STORE_ENOTFOUND if absent. */
int store_msg_update(store_tx *tx, const char *client_id, uint64_t mid, uint8_t state,
                     uint16_t pid);
/** Removes (client, mid) (acknowledged or dropped). STORE_ENOTFOUND if absent. */
int store_msg_delete(store_tx *tx, const char *client_id, uint64_t mid);
/** Calls @cb for each message of @client_id in mid order (early stop as above). */
int store_msg_each(store_tx *tx, const char *client_id, int (*cb)(void *arg, const store_msg *m),
                   void *arg);
/** Highest mid still stored (0 if none). Ids need only be unique among stored rows: the
 *  broker continues above this one after a restart. */
int store_msg_max_id(store_tx *tx, uint64_t *out);

/* ---- broker: retained messages ------------------------------------------------------ */

typedef struct store_retained {
    const uint8_t *topic;
    uint16_t topic_len;
    uint8_t qos;
    const uint8_t *payload;
    uint32_t payload_len; /* > 0: an empty payload deletes instead [MQTT-3.3.1-10] */
} store_retained;

/** Inserts or replaces the retained message of r->topic. */
int store_retained_put(store_tx *tx, const store_retained *r);
/** Removes the retained message of @topic; STORE_ENOTFOUND if there was none. */
int store_retained_delete(store_tx *tx, const uint8_t *topic, uint16_t topic_len);
int store_retained_each(store_tx *tx, int (*cb)(void *arg, const store_retained *r), void *arg);

#endif
