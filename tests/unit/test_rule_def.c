/* Rule definitions and templates (rules/rule_def.c, rules/rule_tmpl.c): every action kind,
 * the refusals naming their field, rendering of every value type, bounds. */
#include <criterion/criterion.h>
#include <string.h>

#include "common/json.h"
#include "rules/rule_def.h"

static rule_def *def;
static json_err err;

static void fini(void) { rule_def_free(def); }

TestSuite(rule_def, .fini = fini);

static int parse(const char *json)
{
    bson_t doc;
    json_err je;
    cr_assert_eq(json_parse((const uint8_t *)json, strlen(json), &doc, &je), 0, "%s", json);
    rule_def_free(def);
    def = NULL;
    int rc = rule_def_parse(&doc, NULL, &def, &err);
    bson_destroy(&doc);
    return rc;
}

Test(rule_def, every_action_kind)
{
    cr_assert_eq(parse("{\"name\": \"n\", \"source\": \"server/+/t\", \"condition\": \"a > 1\", "
                       "\"enabled\": false, \"actions\": ["
                       "{\"type\": \"republish\", \"topic\": \"server/d1/x\", \"qos\": 1},"
                       "{\"type\": \"telemetry\", \"keys\": {\"k\": \"a\"}},"
                       "{\"type\": \"notify\", \"recipient\": \"a@b.cd\", \"message\": \"m\"},"
                       "{\"type\": \"shadow\", \"keys\": [\"a\"]},"
                       "{\"type\": \"alarm_raise\", \"alarm\": \"hot\"},"
                       "{\"type\": \"alarm_clear\", \"alarm\": \"hot\"},"
                       "{\"type\": \"webhook\", \"url\": \"https://h/p\", \"secret\": \"s\"}]}"),
                 0, "%s", err.message);
    cr_assert_eq(def->n_act, 7);
    cr_assert(!def->enabled);
    cr_assert_str_eq(rexpr_filter(def->x), "server/+/t");
    cr_assert_eq(def->act[0].qos, 1);
    cr_assert_str_eq(def->act[1].keys[0], "k");
    cr_assert_str_eq(def->act[1].fields[0], "a");
    cr_assert_str_eq(def->act[3].section, "reported");
    cr_assert_str_eq(def->act[4].severity, "major");
    cr_assert_eq(def->act[6].timeout_ms, 5000);
    cr_assert_eq(def->act[6].retries, 5);
}

static void refused(const char *json, const char *field)
{
    cr_assert_lt(parse(json), 0, "accepted: %s", json);
    cr_assert_null(def);
    cr_assert_str_eq(err.field, field, "%s: %s", json, err.message);
    cr_assert_eq(err.status, 400);
}

Test(rule_def, refusals_name_the_field)
{
    refused("{\"source\": \"a\", \"actions\": []}", "name");
    refused("{\"name\": \"\", \"source\": \"a\", \"actions\": [{\"type\": \"alarm_clear\", "
            "\"alarm\": \"x\"}]}",
            "name");
    refused("{\"name\": \"n\", \"actions\": [{\"type\": \"alarm_clear\", \"alarm\": \"x\"}]}",
            "sql");
    refused("{\"name\": \"n\", \"sql\": \"SELECT * FROM 'a'\", \"condition\": \"1\", \"actions\": "
            "[{\"type\": \"alarm_clear\", \"alarm\": \"x\"}]}",
            "condition");
    refused("{\"name\": \"n\", \"source\": \"a\", \"actions\": [{\"type\": \"republish\", "
            "\"topic\": \"server/+/x\"}]}",
            "actions[0].topic");
    refused("{\"name\": \"n\", \"source\": \"a\", \"actions\": [{\"type\": \"republish\", "
            "\"topic\": \"server/${x}/y\"}]}",
            "actions[0].topic");
    refused("{\"name\": \"n\", \"source\": \"a\", \"actions\": [{\"type\": \"webhook\", "
            "\"url\": \"https://h/\", \"retries\": 11}]}",
            "actions[0].retries");
    refused("{\"name\": \"n\", \"source\": \"a\", \"actions\": [{\"type\": \"shadow\", "
            "\"section\": \"metadata\"}]}",
            "actions[0].section");
    refused("{\"name\": \"n\", \"source\": \"a\", \"actions\": [{\"type\": \"alarm_raise\"}]}",
            "actions[0].alarm");
    refused("{\"name\": \"n\", \"source\": \"a\", \"actions\": [1]}", "actions[0]");
    refused("{\"name\": \"n\", \"source\": \"a\", \"actions\": [{\"type\": \"alarm_clear\", "
            "\"alarm\": \"x\"},{\"type\": \"alarm_clear\", \"alarm\": \"x\"},{\"type\": "
            "\"alarm_clear\", \"alarm\": \"x\"},{\"type\": \"alarm_clear\", \"alarm\": \"x\"},"
            "{\"type\": \"alarm_clear\", \"alarm\": \"x\"},{\"type\": \"alarm_clear\", "
            "\"alarm\": \"x\"},{\"type\": \"alarm_clear\", \"alarm\": \"x\"},{\"type\": "
            "\"alarm_clear\", \"alarm\": \"x\"},{\"type\": \"alarm_clear\", \"alarm\": \"x\"}]}",
            "actions");
}

static void targets(void *arg, const char *dev)
{
    char *out = arg;
    strncat(out, dev, 63 - strlen(out));
    strncat(out, ";", 63 - strlen(out));
}

Test(rule_def, republish_targets)
{
    cr_assert_eq(parse("{\"name\": \"n\", \"source\": \"a\", \"actions\": ["
                       "{\"type\": \"republish\", \"topic\": \"server/d1/x\"},"
                       "{\"type\": \"republish\", \"topic\": \"server/${deviceid()}/x\"},"
                       "{\"type\": \"republish\", \"topic\": \"server/d2/${y}\"}]}"),
                 0, "%s", err.message);
    char got[64] = "";
    rule_def_targets(def, targets, got);
    cr_assert_str_eq(got, "d1;d2;");
}

Test(rule_def, render_every_value)
{
    const char *j = "{\"s\": \"txt\", \"i\": 42, \"d\": 95.9, \"b\": true, \"n\": null,"
                    " \"o\": {\"a\": [1, 2]}}";
    bson_t sel;
    json_err je;
    cr_assert_eq(json_parse((const uint8_t *)j, strlen(j), &sel, &je), 0);
    rexpr_ctx c = {.topic = "server/d/t", .device = "d", .ts_ms = 1700000000000LL};
    char out[256];
    cr_assert_eq(rule_render("${s}|${i}|${d}|${b}|${n}|${missing}|${o.a}|${deviceid()}|"
                             "${topic()}|${timestamp()}|${unterminated",
                             &sel, &c, out, sizeof out),
                 0);
    cr_assert_str_eq(out, "txt|42|95.9|true|null|null|[ 1, 2 ]|d|server/d/t|1700000000000|"
                          "${unterminated");
    cr_assert_eq(rule_render("${o}", &sel, &c, out, sizeof out), 0);
    cr_assert_str_eq(out, "{ \"a\" : [ 1, 2 ] }");
    cr_assert_eq(rule_render("0123456789", &sel, &c, out, 10), -1, "does not fit");
    cr_assert_eq(rule_render("012345678", &sel, &c, out, 10), 0);
    bson_destroy(&sel);
}
