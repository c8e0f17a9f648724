/*
 * shd_topic — the shadow topics of a device, both namespaces (docs/shadows.md):
 *
 *   device publishes (the tap's {api})               replies to
 *   $aws/things/{thing}/shadow/{op}                  $aws/things/{thing}/shadow/{op}/{kind}
 *   $aws/things/{thing}/shadow/name/{n}/{op}         $aws/things/{thing}/shadow/name/{n}/{op}/{kind}
 *   server/{id}/shadow/{op}        (api shadow/{op}) {id}/shadow/{op}/{kind}
 *   server/{id}/shadow/{n}/{op}                      {id}/shadow/{n}/{op}/{kind}
 *
 * {op}: get, update, delete; {kind}: accepted, rejected, and for update also delta and
 * documents. {thing} must be the publishing device's id (the topic policy already
 * refuses another thing; this check holds for the native form's "$aws/..." api too).
 */
#include <stdio.h>
#include <string.h>

#include "shadows/shd_mqtt_int.h"

static const char AWS[] = "$aws/things/";
#define AWS_LEN (sizeof AWS - 1)

static int op_of(const char *s, enum shd_op *op)
{
    if (strcmp(s, "get") == 0)
        *op = SHD_GET;
    else if (strcmp(s, "update") == 0)
        *op = SHD_UPDATE;
    else if (strcmp(s, "delete") == 0)
        *op = SHD_DELETE;
    else
        return -1;
    return 0;
}

/* "{op}" or "{n}/{op}" (native) / "name/{n}/{op}" (aws) after "shadow/". */
static int tail_of(const char *s, bool aws, shd_topic *t)
{
    const char *slash = strchr(s, '/');
    if (!slash)
        return op_of(s, &t->op);
    if (aws) {
        if (strncmp(s, "name/", 5) != 0)
            return -1;
        s += 5;
        slash = strchr(s, '/');
        if (!slash)
            return -1;
    }
    size_t n = (size_t)(slash - s);
    if (!shd_name_ok(s, n) || strchr(slash + 1, '/'))
        return -1;
    memcpy(t->name, s, n);
    t->name[n] = '\0';
    return op_of(slash + 1, &t->op);
}

int shd__topic_parse(const char *dev, const char *api, shd_topic *t)
{
    memset(t, 0, sizeof *t);
    if (strncmp(api, AWS, AWS_LEN) == 0) {
        size_t idn = strlen(dev);
        const char *thing = api + AWS_LEN;
        if (strncmp(thing, dev, idn) != 0 || strncmp(thing + idn, "/shadow/", 8) != 0)
            return -1; /* another thing: never this device's shadow */
        t->aws = true;
        return tail_of(thing + idn + 8, true, t);
    }
    if (strncmp(api, "shadow/", 7) != 0)
        return -1;
    return tail_of(api + 7, false, t);
}

static const char *op_name(enum shd_op op)
{
    return op == SHD_GET ? "get" : op == SHD_UPDATE ? "update" : "delete";
}

int shd__topic_reply(const char *dev, bool aws, const char *name, enum shd_op op, const char *kind,
                     char *out, size_t cap)
{
    int n;
    if (aws)
        n = snprintf(out, cap, "$aws/things/%s/shadow%s%s/%s/%s", dev, name[0] ? "/name/" : "",
                     name, op_name(op), kind);
    else
        n = snprintf(out, cap, "%s/shadow%s%s/%s/%s", dev, name[0] ? "/" : "", name, op_name(op),
                     kind);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}
