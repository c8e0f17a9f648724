/*
 * cmd_store — opening the configured store, and `iotcloud store check`.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "app/cmd.h"
#include "common/log.h"

int app_store_sync_check(const iot_config *cfg, char *err, size_t errlen)
{
    if (strcmp(cfg->store_sync, "full") == 0 || strcmp(cfg->store_sync, "normal") == 0)
        return 0;
    snprintf(err, errlen, "store-sync must be 'full' or 'normal', not '%s'", cfg->store_sync);
    return -1;
}

static void store_path(const iot_config *cfg, char *out, size_t n)
{
    if (cfg->store_path[0])
        snprintf(out, n, "%s", cfg->store_path);
    else
        snprintf(out, n, "%s/iotcloud.db", cfg->data_dir);
}

static store *open_at(const iot_config *cfg, const char *path, char *err, size_t errlen)
{
    store_opts o = {
        .backend = "sqlite",
        .path = path,
        .sync_normal = strcmp(cfg->store_sync, "normal") == 0,
    };
    return store_open(&o, err, errlen);
}

store *app_store_open(const iot_config *cfg)
{
    char path[CONFIG_PATH_MAX + 16], err[512];
    store_path(cfg, path, sizeof path);
    store *st = open_at(cfg, path, err, sizeof err);
    if (!st)
        log_error("store %s: %s", path, err);
    else
        log_info("store: %s (sqlite, synchronous=%s)", path, cfg->store_sync);
    return st;
}

void app_store_close(store *st)
{
    if (!st)
        return;
    store_stats s;
    store_stats_get(st, &s);
    log_info("store: %llu jobs (%llu failed) in %llu commits (max %llu per commit), commit "
             "p50 %llu us p99 %llu us max %llu us, queue max %llu, %llu checkpoints, %llu rows "
             "skipped",
             s.jobs, s.jobs_failed, s.batches, s.batch_max, s.commit_us_p50, s.commit_us_p99,
             s.commit_us_max, s.queue_max, s.checkpoints, s.rows_skipped);
    store_close(st);
}

static int check(const iot_config *cfg)
{
    char path[CONFIG_PATH_MAX + 16], err[512], msg[1024];
    store_path(cfg, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "iotcloud store check: %s: %s\n", path, strerror(errno));
        return 1;
    }
    fclose(f);
    store *st = open_at(cfg, path, err, sizeof err);
    if (!st) {
        fprintf(stderr, "iotcloud store check: %s: %s\n", path, err);
        return 1;
    }
    int rc = store_check(st, msg, sizeof msg);
    store_close(st);
    if (rc < 0) {
        fprintf(stderr, "iotcloud store check: %s: %s\n", path, msg);
        return 1;
    }
    printf("%s: integrity check passed\nok\n", path);
    return 0;
}

int app_cmd_store(int argc, char **argv)
{
    iot_config cfg;
    char err[512];
    bool help = false;
    if (argc < 2 || strcmp(argv[1], "check") != 0) {
        fprintf(stderr, "usage: iotcloud store check [--data-dir DIR | --store FILE]\n");
        return 2;
    }
    config_defaults(&cfg);
    if (config_parse_args(&cfg, argc - 1, argv + 1, &help, err, sizeof err) < 0 ||
        app_store_sync_check(&cfg, err, sizeof err) < 0) {
        fprintf(stderr, "iotcloud store check: %s\n", err);
        return 2;
    }
    if (help) {
        printf("usage: iotcloud store check [--data-dir DIR | --store FILE]\n"
               "Runs the database integrity check; exit 0 when sound, 1 when not.\n");
        return 0;
    }
    return check(&cfg);
}
