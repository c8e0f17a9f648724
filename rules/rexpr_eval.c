/*
 * rexpr_eval — a compiled rule against one message (rules/rexpr.h has the semantics).
 *
 * No allocation: strings are views into the rule's pool, the topic, the device id or the
 * payload document. Recursion follows the compiled tree, whose size the parser capped.
 */
#include <math.h>
#include <string.h>

#include "rules/rexpr_int.h"

#define TOPIC_LEVEL_MAX 64

static const rx_val VNULL = {.t = RXV_NULL};

static rx_val num(double d)
{
    if (!isfinite(d))
        return VNULL;
    return (rx_val){.t = RXV_NUM, .num = d};
}

static rx_val boolean(bool b) { return (rx_val){.t = RXV_BOOL, .num = b}; }

static rx_val str(const char *s, size_t n) { return (rx_val){.t = RXV_STR, .s = s, .len = n}; }

static bool truth(rx_val v) { return v.t == RXV_BOOL && v.num != 0; }

static rx_val field(const rx_node *nd, const char *pool, const rexpr_ctx *c)
{
    bson_iter_t it, f;
    if (!c->payload || !bson_iter_init(&it, c->payload) ||
        !bson_iter_find_descendant(&it, pool + nd->str, &f))
        return VNULL;
    switch (bson_iter_type(&f)) {
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
        return num(bson_iter_as_double(&f));
    case BSON_TYPE_BOOL:
        return boolean(bson_iter_bool(&f));
    case BSON_TYPE_UTF8: {
        uint32_t n;
        const char *s = bson_iter_utf8(&f, &n);
        return str(s, n);
    }
    default:
        return VNULL;
    }
}

/* Level @n (1-based) of the topic, or null. */
static rx_val topic_level(const char *t, double n)
{
    if (!t)
        return VNULL;
    for (int level = 1; level < TOPIC_LEVEL_MAX; level++) {
        const char *end = strchr(t, '/');
        size_t len = end ? (size_t)(end - t) : strlen(t);
        if (level == (int)n)
            return str(t, len);
        if (!end)
            break;
        t = end + 1;
    }
    return VNULL;
}

static int cmp_vals(rx_val a, rx_val b, bool *same_type)
{
    *same_type = a.t == b.t && a.t != RXV_NULL;
    if (!*same_type)
        return 0;
    if (a.t == RXV_STR) {
        size_t n = a.len < b.len ? a.len : b.len;
        int r = memcmp(a.s, b.s, n);
        return r ? r : (a.len > b.len) - (a.len < b.len);
    }
    return (a.num > b.num) - (a.num < b.num);
}

static rx_val compare(enum rx_op op, rx_val a, rx_val b)
{
    bool same;
    if (op == RX_EQ && a.t == RXV_NULL && b.t == RXV_NULL)
        return boolean(true); /* `x = null`: x is missing */
    int r = cmp_vals(a, b, &same);
    if (op == RX_NE)
        return boolean(!same || r != 0);
    if (!same)
        return boolean(false);
    switch (op) {
    case RX_EQ:
        return boolean(r == 0);
    case RX_LT:
        return boolean(r < 0);
    case RX_LE:
        return boolean(r <= 0);
    case RX_GT:
        return boolean(r > 0);
    default:
        return boolean(r >= 0);
    }
}

static rx_val arith(enum rx_op op, rx_val a, rx_val b)
{
    if (a.t != RXV_NUM || b.t != RXV_NUM)
        return VNULL;
    switch (op) {
    case RX_ADD:
        return num(a.num + b.num);
    case RX_SUB:
        return num(a.num - b.num);
    case RX_MUL:
        return num(a.num * b.num);
    case RX_DIV:
        return b.num == 0 ? VNULL : num(a.num / b.num);
    default:
        return b.num == 0 ? VNULL : num(fmod(a.num, b.num));
    }
}

static rx_val round_to(rx_val v, rx_val digits, bool has_digits)
{
    if (v.t != RXV_NUM || (has_digits && digits.t != RXV_NUM))
        return VNULL;
    double d = has_digits ? floor(digits.num) : 0;
    if (d < 0 || d > 15)
        return VNULL;
    double scale = pow(10, d);
    return num(round(v.num * scale) / scale);
}

static rx_val strings(enum rx_op op, rx_val s, rx_val p)
{
    if (s.t != RXV_STR || p.t != RXV_STR)
        return VNULL;
    if (op == RX_STARTSWITH)
        return boolean(p.len <= s.len && !memcmp(s.s, p.s, p.len));
    if (p.len == 0)
        return boolean(true);
    for (size_t i = 0; i + p.len <= s.len; i++)
        if (!memcmp(s.s + i, p.s, p.len))
            return boolean(true);
    return boolean(false);
}

static rx_val logic(const rexpr *x, const rx_node *nd, const rexpr_ctx *c)
{
    bool a = truth(rexpr__eval(x, nd->a, c));
    if (nd->op == RX_NOT)
        return boolean(!a);
    if (nd->op == RX_AND)
        return boolean(a && truth(rexpr__eval(x, nd->b, c)));
    return boolean(a || truth(rexpr__eval(x, nd->b, c)));
}

static rx_val call(const rexpr *x, const rx_node *nd, const rexpr_ctx *c)
{
    switch (nd->op) {
    case RX_DEVICEID:
        return c->device ? str(c->device, strlen(c->device)) : VNULL;
    case RX_TIMESTAMP:
        return num((double)c->ts_ms);
    case RX_TOPIC:
        return topic_level(c->topic, x->nodes[nd->a].num);
    case RX_NEG: {
        rx_val v = rexpr__eval(x, nd->a, c);
        return v.t == RXV_NUM ? num(-v.num) : VNULL;
    }
    case RX_ABS: {
        rx_val v = rexpr__eval(x, nd->a, c);
        return v.t == RXV_NUM ? num(fabs(v.num)) : VNULL;
    }
    case RX_ROUND:
        return round_to(rexpr__eval(x, nd->a, c), nd->b >= 0 ? rexpr__eval(x, nd->b, c) : VNULL,
                        nd->b >= 0);
    default:
        return strings(nd->op, rexpr__eval(x, nd->a, c), rexpr__eval(x, nd->b, c));
    }
}

rx_val rexpr__eval(const rexpr *x, int32_t i, const rexpr_ctx *c)
{
    if (i < 0 || (uint32_t)i >= x->n_nodes)
        return VNULL;
    const rx_node *nd = &x->nodes[i];
    switch (nd->op) {
    case RX_NULL:
        return VNULL;
    case RX_NUM:
        return num(nd->num);
    case RX_BOOL:
        return boolean(nd->num != 0);
    case RX_STR:
        return str(x->pool + nd->str, nd->len);
    case RX_PATH:
        return field(nd, x->pool, c);
    case RX_OR:
    case RX_AND:
    case RX_NOT:
        return logic(x, nd, c);
    case RX_EQ:
    case RX_NE:
    case RX_LT:
    case RX_LE:
    case RX_GT:
    case RX_GE:
        return compare(nd->op, rexpr__eval(x, nd->a, c), rexpr__eval(x, nd->b, c));
    case RX_ADD:
    case RX_SUB:
    case RX_MUL:
    case RX_DIV:
    case RX_MOD:
        return arith(nd->op, rexpr__eval(x, nd->a, c), rexpr__eval(x, nd->b, c));
    default:
        return call(x, nd, c);
    }
}

bool rexpr_match(const rexpr *x, const rexpr_ctx *c)
{
    return x->where < 0 || truth(rexpr__eval(x, x->where, c));
}

/* A path item copies whatever the payload holds there, objects and arrays included. */
static bool append_path(const rexpr *x, const rx_node *nd, const rexpr_ctx *c, const char *name,
                        bson_t *out)
{
    bson_iter_t it, f;
    if (!c->payload || !bson_iter_init(&it, c->payload) ||
        !bson_iter_find_descendant(&it, x->pool + nd->str, &f))
        return bson_append_null(out, name, -1);
    return bson_append_iter(out, name, -1, &f);
}

static bool append_val(rx_val v, const char *name, bson_t *out)
{
    switch (v.t) {
    case RXV_NUM:
        if (v.num == floor(v.num) && fabs(v.num) < 9007199254740992.0)
            return bson_append_int64(out, name, -1, (int64_t)v.num);
        return bson_append_double(out, name, -1, v.num);
    case RXV_BOOL:
        return bson_append_bool(out, name, -1, v.num != 0);
    case RXV_STR:
        return bson_append_utf8(out, name, -1, v.s, (int)v.len);
    default:
        return bson_append_null(out, name, -1);
    }
}

int rexpr_select(const rexpr *x, const rexpr_ctx *c, bson_t *out)
{
    if (x->n_items == 0) {
        if (c->payload && !bson_concat(out, c->payload))
            return -1;
        return 0;
    }
    for (int32_t k = 0; k < x->n_items; k++) {
        const rx_item *it = &x->items[k];
        const rx_node *nd = &x->nodes[it->node];
        const char *name = x->pool + it->name;
        bool ok = nd->op == RX_PATH ? append_path(x, nd, c, name, out)
                                    : append_val(rexpr__eval(x, it->node, c), name, out);
        if (!ok)
            return -1;
    }
    return 0;
}
