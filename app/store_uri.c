/*
 * store_uri — choosing the store backend from the "store" option and opening it.
 * "mongodb://..." or "mongodb+srv://..." selects MongoDB (docs/store.md); anything else
 * is a SQLite file. The URI is never logged or echoed (it may carry a password); the
 * password itself preferably comes from $IOTCLOUD_STORE_PASSWORD or store-password-file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/cmd.h"
#include "common/log.h"

bool app_store_is_mongo(const char *opt)
{
    return strncmp(opt, "mongodb://", 10) == 0 || strncmp(opt, "mongodb+srv://", 14) == 0;
}

/* The first line of @file into @out. 0, or -1 with the reason logged (not the content). */
static int read_password(const char *file, char *out, size_t n)
{
    FILE *f = fopen(file, "r");
    if (!f || !fgets(out, (int)n, f)) {
        log_error("store-password-file %s: cannot read it", file);
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

store *app_store_open_mongo(const iot_config *cfg)
{
    char pw[256] = "", err[512];
    const char *missing = store_backend_missing("mongodb");
    const char *env = getenv("IOTCLOUD_STORE_PASSWORD");

    if (missing) {
        /* [issue #20] refuse at start rather than fail on the first request */
        log_error("store: the mongodb backend does not hold these entities yet: %s; "
                  "use a SQLite file (--store FILE) until it does (docs/store.md)",
                  missing);
        return NULL;
    }
    if (cfg->store_password_file[0] && read_password(cfg->store_password_file, pw, sizeof pw) < 0)
        return NULL;
    if (!pw[0] && env)
        snprintf(pw, sizeof pw, "%s", env);
    store_opts o = {.backend = "mongodb", .path = cfg->store_path, .password = pw[0] ? pw : NULL};
    store *st = store_open(&o, err, sizeof err);
    explicit_bzero(pw, sizeof pw);
    if (!st)
        log_error("store (mongodb): %s", err);
    else
        log_info("store: mongodb (write concern majority, journaled)");
    return st;
}
