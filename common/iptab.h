/**
 * iptab — concurrent connections per peer address (a printable IP), process-wide.
 *
 * Thread-safe: one mutex, held only for the lookup. Callers count a connection with
 * iptab_acquire when it opens and give it back with iptab_release when it closes.
 */
#ifndef IOT_COMMON_IPTAB_H
#define IOT_COMMON_IPTAB_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef struct iptab_ent {
    char ip[48];
    uint32_t n;
} iptab_ent;

typedef struct iptab {
    pthread_mutex_t lock;
    iptab_ent *e; /* open addressing, linear probing; tombstone-free (n == 0 is free and
                   * entries are rehashed on removal) */
    size_t cap, used;
} iptab;

int iptab_init(iptab *t);
void iptab_fini(iptab *t);
/** Counts one more connection from @ip unless it already has @max: 0 or -1 (refused). */
int iptab_acquire(iptab *t, const char *ip, uint32_t max);
void iptab_release(iptab *t, const char *ip);

#endif
