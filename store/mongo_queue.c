/*
 * MongoDB backend: a batch of jobs, and store_sync, on one client of the pool.
 *
 * There is no savepoint to roll a failed job back: each write of a job is sent with the
 * store's write concern (majority + j by default) and acknowledged before the next, so a
 * job's rc is known per job and a job that failed affects no other job of the batch. A
 * job whose second write fails keeps its first one; every multi-write entity orders its
 * writes so that such a partial job leaves a state the next run handles (docs/store.md,
 * "Failure isolation").
 */
#include "common/clock.h"
#include "store/mongo_int.h"

int store__mg_run_batch(store *st, store_job *first, size_t n, uint64_t *commit_us)
{
    uint64_t t0 = clock_mono_us();
    store_tx tx = {.st = st, .db = NULL};
    store_job *j = first;

    st->mcur = mongoc_client_pool_pop(st->mpool);
    for (size_t i = 0; i < n; i++, j = j->next)
        j->rc = j->run ? j->run(&tx, j) : STORE_EINVAL;
    mongoc_client_pool_push(st->mpool, st->mcur);
    st->mcur = NULL;
    *commit_us = clock_mono_us() - t0;
    return 0;
}

int store__mg_sync(store *st, int (*fn)(store_tx *tx, void *arg), void *arg)
{
    pthread_mutex_lock(&st->db_lock);
    store_tx tx = {.st = st, .db = NULL};
    st->mcur = mongoc_client_pool_pop(st->mpool);
    int rc = fn(&tx, arg);
    mongoc_client_pool_push(st->mpool, st->mcur);
    st->mcur = NULL;
    pthread_mutex_unlock(&st->db_lock);
    return rc;
}
