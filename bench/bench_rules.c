/**
 * bench_rules — what the rules engine costs a loop per device message (docs/rules.md
 * "Evaluation"), on one thread, no store work (the store is opened but not started, so
 * queued items only wait).
 *
 *   build/ci/bench_rules [messages]      (default 200000)
 *
 * One owner with 100 rules (the default max-rules-per-user) on 100 different topic
 * filters, a 5-key JSON payload, and three cases per message:
 *   miss   no filter matches (100 filter matches, no parse)
 *   where  one filter matches, its WHERE is false (+ one payload parse, one evaluation)
 *   fire   one filter matches and the WHERE passes (+ SELECT, the work item, the queue)
 * plus the compile time of one rule. Prints ns per message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/json.h"
#include "rules/rules.h"
#include "store/store_app.h"

#define RULES 100

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void add(rules *r, int i)
{
    char text[512], id[32];
    snprintf(text, sizeof text,
             "{\"name\": \"r%d\", \"sql\": \"SELECT temp, round(temp * 1.8 + 32, 1) AS f FROM "
             "'server/+/api%d' WHERE temp > 30 AND startswith(mode, 'eco')\", \"actions\": "
             "[{\"type\": \"alarm_raise\", \"alarm\": \"hot\"}]}",
             i, i);
    snprintf(id, sizeof id, "r%d", i);
    bson_t def;
    json_err e;
    if (json_parse((const uint8_t *)text, strlen(text), &def, &e) < 0 ||
        rules_put(r, "owner", id, true, &def) < 0) {
        fprintf(stderr, "bench_rules: rule %d refused\n", i);
        exit(1);
    }
    bson_destroy(&def);
}

static double run(rules *r, const char *topic, const char *payload, long n)
{
    size_t len = strlen(payload);
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        rules_message(r, NULL, "owner", "dev1", topic, (const uint8_t *)payload, len, 1);
    return (now_ns() - t0) / (double)n;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
    char dir[] = "/tmp/bench_rules.XXXXXX", path[64], err[256];
    if (n <= 0 || !mkdtemp(dir))
        return 2;
    snprintf(path, sizeof path, "%s/db", dir);
    store_opts so = {.path = path};
    store *st = store_open(&so, err, sizeof err);
    rules_opts o = {.queue_max = (uint32_t)n + 1};
    rules *r = st ? rules_new(st, NULL, NULL, NULL, &o) : NULL;
    if (!r) {
        fprintf(stderr, "bench_rules: %s\n", st ? "out of memory" : err);
        return 1;
    }
    double t0 = now_ns();
    for (int i = 0; i < RULES; i++)
        add(r, i);
    double compile = (now_ns() - t0) / RULES;
    const char *hot =
        "{\"temp\": 35.5, \"hum\": 40, \"mode\": \"eco\", \"on\": true, \"rpm\": 1200}";
    const char *cold =
        "{\"temp\": 20.5, \"hum\": 40, \"mode\": \"eco\", \"on\": true, \"rpm\": 1200}";
    double miss = run(r, "server/dev1/other", hot, n);
    double where = run(r, "server/dev1/api57", cold, n);
    double fire = run(r, "server/dev1/api57", hot, n);
    printf("rules: %d, messages per case: %ld\n", RULES, n);
    printf("compile one rule (parse JSON + check + compile): %.0f ns\n", compile);
    printf("miss  (100 filters, none matches):          %.0f ns/message\n", miss);
    printf("where (1 matches, WHERE false):             %.0f ns/message\n", where);
    printf("fire  (1 matches, SELECT + work item):      %.0f ns/message\n", fire);
    rules_stats s;
    rules_stats_get(r, &s);
    printf("(matched %llu, queued %llu)\n", s.matched, s.queued);
    store_close(st); /* runs the queued drains here: not timed */
    rules_free(r);
    unlink(path);
    char wal[80];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
    rmdir(dir);
    return 0;
}
