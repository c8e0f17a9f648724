/**
 * fuzz_trie — drives the subscription and retained indexes with operations decoded from
 * the input and checks every answer against a brute-force model (tests/unit/topic_ref.h).
 *
 * Input: a sequence of operations, each an opcode byte followed by its arguments.
 *
 *   op % 5 | operation        | argument bytes
 *   -------+------------------+------------------------------------------------
 *     0    | subscribe        | sub, qos, string (filter)
 *     1    | unsubscribe      | sub, string (filter)
 *     2    | match            | string (topic)
 *     3    | retain set       | value (>= NVALS deletes), string (topic)
 *     4    | retain match     | string (filter)
 *
 *   string = length byte (1..MAXS), then one byte per character from "ab$+#/" (filters)
 *            or "ab$/" (topics). Invalid filters and empty topics are skipped: the
 *            indexes require callers to validate, so only valid input is checked.
 *
 * At the end everything is removed again and the trees must be back to a bare root, and
 * every hold() must have been matched by a release().
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/trie.h"
#include "broker/trie_node.h"
#include "tests/unit/topic_ref.h"

#define NSUBS  8
#define NVALS  16
#define MAXS   16
#define MAXREF 64

struct in {
    const uint8_t *p;
    size_t n;
};

struct ref_sub {
    char filter[MAXS + 1];
    int s;
    int qos;
};

struct ref_ret {
    char topic[MAXS + 1];
    int v;
};

struct model {
    mqtt_trie *t;
    mqtt_retain *r;
    struct ref_sub subs[MAXREF];
    int nsubs;
    struct ref_ret rets[MAXREF];
    int nrets;
    mqtt_trie_hits hits;
    mqtt_ptrvec vec;
};

static char subs_obj[NSUBS];
static char vals_obj[NVALS];
static long sub_refs[NSUBS];
static long val_refs[NVALS];

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_trie: check failed: %s (line %d)\n", #c, __LINE__);              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void sub_hold(void *p) { sub_refs[(char *)p - subs_obj]++; }

static void val_hold(void *p) { val_refs[(char *)p - vals_obj]++; }

static void val_release(void *p) { val_refs[(char *)p - vals_obj]--; }

static int next(struct in *in)
{
    if (in->n == 0)
        return -1;
    in->n--;
    return *in->p++;
}

/* Reads a string over @alpha into @out; 0, or -1 when the input ran out. */
static int next_str(struct in *in, const char *alpha, char *out)
{
    int len = next(in);
    size_t na = strlen(alpha);

    if (len < 0)
        return -1;
    len = len % MAXS + 1;
    for (int i = 0; i < len; i++) {
        int c = next(in);
        if (c < 0)
            return -1;
        out[i] = alpha[(size_t)c % na];
    }
    out[len] = '\0';
    return 0;
}

static struct ref_sub *find_sub(struct model *m, const char *f, int s)
{
    for (int i = 0; i < m->nsubs; i++)
        if (m->subs[i].s == s && strcmp(m->subs[i].filter, f) == 0)
            return &m->subs[i];
    return NULL;
}

static struct ref_ret *find_ret(struct model *m, const char *topic)
{
    for (int i = 0; i < m->nrets; i++)
        if (strcmp(m->rets[i].topic, topic) == 0)
            return &m->rets[i];
    return NULL;
}

static void op_sub(struct model *m, const char *f, int s, int qos)
{
    struct ref_sub *r = find_sub(m, f, s);

    if (r == NULL && m->nsubs == MAXREF)
        return;
    int rc = mqtt_trie_subscribe(m->t, (const uint8_t *)f, strlen(f), &subs_obj[s], (uint8_t)qos);
    CHECK(rc == (r == NULL ? 1 : 0));
    if (r == NULL) {
        r = &m->subs[m->nsubs++];
        memcpy(r->filter, f, strlen(f) + 1);
        r->s = s;
    }
    r->qos = qos;
}

static void op_unsub(struct model *m, const char *f, int s)
{
    struct ref_sub *r = find_sub(m, f, s);
    int rc = mqtt_trie_unsubscribe(m->t, (const uint8_t *)f, strlen(f), &subs_obj[s]);

    CHECK(rc == (r == NULL ? -ENOENT : 0));
    if (r != NULL)
        *r = m->subs[--m->nsubs];
}

static void op_match(struct model *m, const char *topic)
{
    int want[NSUBS], nwant = 0;

    for (int s = 0; s < NSUBS; s++)
        want[s] = -1;
    for (int i = 0; i < m->nsubs; i++)
        if (ref_match(m->subs[i].filter, topic) && m->subs[i].qos > want[m->subs[i].s])
            want[m->subs[i].s] = m->subs[i].qos;
    for (int s = 0; s < NSUBS; s++)
        nwant += want[s] >= 0;
    CHECK(mqtt_trie_match(m->t, (const uint8_t *)topic, strlen(topic), &m->hits) == nwant);
    for (size_t i = 0; i < m->hits.n; i++) {
        int s = (int)((char *)m->hits.v[i].sub - subs_obj);
        CHECK(want[s] == m->hits.v[i].qos); /* also catches duplicates: want reset below */
        want[s] = -2;
        sub_refs[s]--;
    }
    CHECK(mqtt_trie_count(m->t) == (size_t)m->nsubs);
}

static void op_retain_set(struct model *m, const char *topic, int v)
{
    struct ref_ret *r = find_ret(m, topic);

    if (v < NVALS && r == NULL && m->nrets == MAXREF)
        return;
    if (v < NVALS)
        val_refs[v]++; /* the caller's reference, handed over */
    CHECK(mqtt_retain_set(m->r, (const uint8_t *)topic, strlen(topic),
                          v < NVALS ? &vals_obj[v] : NULL) == 0);
    if (v >= NVALS) {
        if (r != NULL)
            *r = m->rets[--m->nrets];
    } else {
        if (r == NULL) {
            r = &m->rets[m->nrets++];
            memcpy(r->topic, topic, strlen(topic) + 1);
        }
        r->v = v;
    }
    CHECK(mqtt_retain_count(m->r) == (size_t)m->nrets);
}

static void op_retain_match(struct model *m, const char *f)
{
    int want[NVALS] = {0}, nwant = 0;

    for (int i = 0; i < m->nrets; i++)
        if (ref_match(f, m->rets[i].topic)) {
            want[m->rets[i].v]++;
            nwant++;
        }
    m->vec.n = 0;
    CHECK(mqtt_retain_match(m->r, (const uint8_t *)f, strlen(f), &m->vec) == nwant);
    for (size_t i = 0; i < m->vec.n; i++) {
        int v = (int)((char *)m->vec.v[i] - vals_obj);
        CHECK(want[v]-- > 0);
        val_release(m->vec.v[i]);
    }
}

static int step(struct model *m, struct in *in)
{
    char s[MAXS + 1];
    int op = next(in), a = 0, b = 0;

    if (op < 0)
        return -1;
    switch (op % 5) {
    case 0:
        if ((a = next(in)) < 0 || (b = next(in)) < 0 || next_str(in, "ab$+#/", s) < 0)
            return -1;
        if (ref_filter_valid(s))
            op_sub(m, s, a % NSUBS, b % 3);
        return 0;
    case 1:
        if ((a = next(in)) < 0 || next_str(in, "ab$+#/", s) < 0)
            return -1;
        if (ref_filter_valid(s))
            op_unsub(m, s, a % NSUBS);
        return 0;
    case 2:
        if (next_str(in, "ab$/", s) < 0)
            return -1;
        op_match(m, s);
        return 0;
    case 3:
        if ((a = next(in)) < 0 || next_str(in, "ab$/", s) < 0)
            return -1;
        op_retain_set(m, s, a % (NVALS + 2));
        return 0;
    default:
        if (next_str(in, "ab$+#/", s) < 0)
            return -1;
        if (ref_filter_valid(s))
            op_retain_match(m, s);
        return 0;
    }
}

/* Removes everything through the public API; the trees must shrink to a bare root. */
static void drain(struct model *m)
{
    while (m->nsubs > 0) {
        struct ref_sub r = m->subs[m->nsubs - 1];
        op_unsub(m, r.filter, r.s);
    }
    while (m->nrets > 0) {
        char topic[MAXS + 1];
        memcpy(topic, m->rets[m->nrets - 1].topic, sizeof(topic));
        op_retain_set(m, topic, NVALS);
    }
    CHECK(mqtt__trie_nodes(m->t) == 1);
    CHECK(mqtt__retain_nodes(m->r) == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct model m;
    struct in in = {data, size};

    memset(&m, 0, sizeof(m));
    memset(sub_refs, 0, sizeof(sub_refs));
    memset(val_refs, 0, sizeof(val_refs));
    m.t = mqtt_trie_new(sub_hold);
    m.r = mqtt_retain_new(val_hold, val_release);
    CHECK(m.t != NULL && m.r != NULL);
    while (step(&m, &in) == 0)
        ;
    drain(&m);
    mqtt_trie_free(m.t);
    mqtt_retain_free(m.r);
    mqtt_trie_hits_free(&m.hits);
    mqtt_ptrvec_free(&m.vec);
    for (int i = 0; i < NSUBS; i++)
        CHECK(sub_refs[i] == 0);
    for (int i = 0; i < NVALS; i++)
        CHECK(val_refs[i] == 0);
    return 0;
}
