/*
 * rexpr_parse — text to compiled rule (rules/rexpr.h has the grammar).
 *
 * Recursive descent over a one-token lookahead. Every refusal names the byte offset of
 * the token it happened at. Bounds: the text (max_len), the nesting (max_depth: counted
 * on every sub-expression entered, so the evaluator's recursion is bounded too), the
 * nodes (REXPR_MAX_NODES) and the SELECT items (RX_ITEMS_MAX). Numbers go through strtod
 * on a bounded NUL-terminated copy.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt/mqtt_topic.h"
#include "rules/rexpr_int.h"

#define NUM_MAX 64 /* bytes of a number literal */

enum tok {
    T_END,
    T_NUM,
    T_STR,
    T_NAME,
    T_LP,
    T_RP,
    T_COMMA,
    T_DOT,
    T_LB,
    T_RB,
    T_STAR,
    T_PLUS,
    T_MINUS,
    T_SLASH,
    T_PCT,
    T_EQ,
    T_NE,
    T_LT,
    T_LE,
    T_GT,
    T_GE,
    T_BAD,
};

typedef struct parser {
    const char *s;
    size_t n, pos; /* input, cursor */
    enum tok t;    /* current token */
    size_t tpos, tlen;
    double num;
    unsigned depth, max_depth;
    rexpr *x;
    uint32_t pool_len, pool_cap;
    rexpr_err *e;
    bool failed;
} parser;

static int fail(parser *p, size_t pos, const char *fmt, ...)
{
    if (p->failed)
        return -1;
    p->failed = true;
    p->e->pos = pos;
    va_list ap;
    va_start(ap, fmt);
    int k = snprintf(p->e->msg, sizeof p->e->msg, "at position %zu: ", pos);
    if (k > 0 && (size_t)k < sizeof p->e->msg)
        vsnprintf(p->e->msg + k, sizeof p->e->msg - (size_t)k, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- tokens ------------------------------------------------------------------------ */

static bool name_start(int c) { return isalpha(c) || c == '_' || c == '$'; }
static bool name_char(int c) { return isalnum(c) || c == '_' || c == '$'; }

static void lex_string(parser *p, char q)
{
    size_t i = p->pos + 1;
    for (; i < p->n; i++) {
        if (p->s[i] == q && i + 1 < p->n && p->s[i + 1] == q) {
            i++; /* a doubled quote stands for one */
            continue;
        }
        if (p->s[i] == q)
            break;
    }
    if (i >= p->n) {
        p->t = T_BAD;
        fail(p, p->tpos, "unterminated string");
        return;
    }
    p->t = T_STR;
    p->tlen = i + 1 - p->tpos;
}

static void lex_number(parser *p)
{
    size_t i = p->pos;
    while (i < p->n &&
           (isdigit((unsigned char)p->s[i]) || p->s[i] == '.' || p->s[i] == 'e' || p->s[i] == 'E' ||
            ((p->s[i] == '-' || p->s[i] == '+') && i > p->pos &&
             (p->s[i - 1] == 'e' || p->s[i - 1] == 'E'))))
        i++;
    char buf[NUM_MAX + 1];
    size_t k = i - p->pos;
    char *end = NULL;
    if (k <= NUM_MAX) {
        memcpy(buf, p->s + p->pos, k);
        buf[k] = '\0';
        p->num = strtod(buf, &end);
    }
    if (k > NUM_MAX || !end || *end || !isfinite(p->num)) {
        p->t = T_BAD;
        fail(p, p->tpos, "bad number");
        return;
    }
    p->t = T_NUM;
    p->tlen = k;
}

static const struct {
    const char *s;
    enum tok t;
} PUNCT[] = {
    {"<=", T_LE},   {">=", T_GE},   {"<>", T_NE},   {"!=", T_NE}, {"==", T_EQ},
    {"=", T_EQ},    {"<", T_LT},    {">", T_GT},    {"(", T_LP},  {")", T_RP},
    {",", T_COMMA}, {".", T_DOT},   {"[", T_LB},    {"]", T_RB},  {"*", T_STAR},
    {"+", T_PLUS},  {"-", T_MINUS}, {"/", T_SLASH}, {"%", T_PCT},
};

static void next(parser *p)
{
    p->pos += p->tlen;
    while (p->pos < p->n && isspace((unsigned char)p->s[p->pos]))
        p->pos++;
    p->tpos = p->pos;
    p->tlen = 0;
    if (p->pos >= p->n) {
        p->t = T_END;
        return;
    }
    char c = p->s[p->pos];
    if (c == '\'' || c == '"')
        return lex_string(p, c);
    if (isdigit((unsigned char)c))
        return lex_number(p);
    if (name_start((unsigned char)c)) {
        size_t i = p->pos;
        while (i < p->n && name_char((unsigned char)p->s[i]))
            i++;
        p->t = T_NAME;
        p->tlen = i - p->pos;
        return;
    }
    for (size_t i = 0; i < sizeof PUNCT / sizeof PUNCT[0]; i++) {
        size_t k = strlen(PUNCT[i].s);
        if (p->n - p->pos >= k && !memcmp(p->s + p->pos, PUNCT[i].s, k)) {
            p->t = PUNCT[i].t;
            p->tlen = k;
            return;
        }
    }
    p->t = T_BAD;
    fail(p, p->pos, "unexpected character '%c'", isprint((unsigned char)c) ? c : '?');
}

static bool is_kw(const parser *p, const char *kw)
{
    size_t k = strlen(kw);
    return p->t == T_NAME && p->tlen == k && !strncasecmp(p->s + p->tpos, kw, k);
}

/* ---- the compiled form ------------------------------------------------------------- */

/* Appends @n bytes (+ NUL) to the pool; its offset, or UINT32_MAX when it is full. The
 * pool was sized for the whole text, which every piece is a part of, so it never grows. */
static uint32_t pool_add(parser *p, const char *s, size_t n)
{
    if (p->pool_len + n + 1 > p->pool_cap) {
        fail(p, p->tpos, "rule too long");
        return UINT32_MAX;
    }
    uint32_t off = p->pool_len;
    if (s)
        memcpy(p->x->pool + off, s, n);
    p->x->pool[off + n] = '\0';
    p->pool_len += (uint32_t)n + 1;
    return off;
}

static int32_t node(parser *p, enum rx_op op, int32_t a, int32_t b)
{
    if (p->failed)
        return -1;
    if (p->x->n_nodes >= REXPR_MAX_NODES)
        return fail(p, p->tpos, "rule too complex (more than %d nodes)", REXPR_MAX_NODES);
    rx_node *nd = &p->x->nodes[p->x->n_nodes];
    *nd = (rx_node){.op = (uint8_t)op, .a = a, .b = b};
    return (int32_t)p->x->n_nodes++;
}

static int32_t string_node(parser *p)
{
    /* copy without the quotes, doubled quotes made single */
    char q = p->s[p->tpos];
    const char *s = p->s + p->tpos + 1;
    size_t n = p->tlen - 2;
    int32_t i = node(p, RX_STR, -1, -1);
    if (i < 0)
        return -1;
    uint32_t off = p->pool_len, len = 0;
    if (pool_add(p, NULL, n) == UINT32_MAX)
        return -1;
    for (size_t k = 0; k < n; k++) {
        p->x->pool[off + len++] = s[k];
        if (s[k] == q)
            k++;
    }
    p->x->pool[off + len] = '\0';
    p->x->nodes[i].str = off;
    p->x->nodes[i].len = len;
    return i;
}

/* ---- expressions ------------------------------------------------------------------- */

static int32_t expr(parser *p);

static int expect(parser *p, enum tok t, const char *what)
{
    if (p->failed)
        return -1;
    if (p->t != t)
        return fail(p, p->tpos, "expected %s", what);
    next(p);
    return 0;
}

static int enter(parser *p)
{
    if (++p->depth > p->max_depth)
        return fail(p, p->tpos, "nested deeper than %u", p->max_depth);
    return 0;
}

static const struct {
    const char *name;
    enum rx_op op;
    int min, max; /* arguments */
} FUNCS[] = {
    {"abs", RX_ABS, 1, 1},
    {"round", RX_ROUND, 1, 2},
    {"startswith", RX_STARTSWITH, 2, 2},
    {"contains", RX_CONTAINS, 2, 2},
    {"topic", RX_TOPIC, 1, 1},
    {"deviceid", RX_DEVICEID, 0, 0},
    {"timestamp", RX_TIMESTAMP, 0, 0},
};

static int32_t call(parser *p, size_t f, size_t at)
{
    int32_t arg[2] = {-1, -1};
    int n = 0;
    next(p); /* '(' */
    while (p->t != T_RP && !p->failed) {
        if (n == FUNCS[f].max)
            return fail(p, p->tpos, "%s takes at most %d argument(s)", FUNCS[f].name, n);
        if (n > 0 && expect(p, T_COMMA, "',' or ')'") < 0)
            return -1;
        arg[n++] = expr(p);
    }
    if (expect(p, T_RP, "')'") < 0)
        return -1;
    if (n < FUNCS[f].min)
        return fail(p, at, "%s takes %d argument(s)", FUNCS[f].name, FUNCS[f].min);
    if (FUNCS[f].op == RX_TOPIC && (p->x->nodes[arg[0]].op != RX_NUM ||
                                    p->x->nodes[arg[0]].num < 1 || p->x->nodes[arg[0]].num > 64))
        return fail(p, at, "topic() takes a level number 1..64");
    return node(p, FUNCS[f].op, arg[0], arg[1]);
}

/* Appends the current token to the dotted path in @buf. */
static int path_seg(parser *p, char *buf, size_t *n, size_t at)
{
    if (*n + p->tlen + 1 > REXPR_FILTER_MAX)
        return fail(p, at, "field path too long");
    if (*n)
        buf[(*n)++] = '.';
    memcpy(buf + *n, p->s + p->tpos, p->tlen);
    *n += p->tlen;
    next(p);
    return 0;
}

/* A path: name ('.' name | '[' index ']')*, kept dotted ("a.0.b") for bson lookups. */
static int32_t path(parser *p)
{
    char buf[REXPR_FILTER_MAX + 1];
    size_t n = 0, at = p->tpos;
    if (p->t != T_NAME)
        return fail(p, p->tpos, "expected a field name");
    if (path_seg(p, buf, &n, at) < 0)
        return -1;
    while (!p->failed && (p->t == T_DOT || p->t == T_LB)) {
        bool idx = p->t == T_LB;
        next(p);
        if (idx && (p->t != T_NUM || p->num < 0 || p->num != floor(p->num)))
            return fail(p, p->tpos, "expected an array index");
        if (!idx && p->t != T_NAME)
            return fail(p, p->tpos, "expected a field name");
        if (path_seg(p, buf, &n, at) < 0 || (idx && expect(p, T_RB, "']'") < 0))
            return -1;
    }
    int32_t i = node(p, RX_PATH, -1, -1);
    uint32_t off = pool_add(p, buf, n);
    if (i < 0 || off == UINT32_MAX)
        return -1;
    p->x->nodes[i].str = off;
    p->x->nodes[i].len = (uint32_t)n;
    return i;
}

static int32_t name_expr(parser *p)
{
    size_t at = p->tpos;
    if (is_kw(p, "true") || is_kw(p, "false")) {
        int32_t i = node(p, RX_BOOL, -1, -1);
        if (i >= 0)
            p->x->nodes[i].num = is_kw(p, "true");
        next(p);
        return i;
    }
    if (is_kw(p, "null")) {
        next(p);
        return node(p, RX_NULL, -1, -1);
    }
    for (size_t f = 0; f < sizeof FUNCS / sizeof FUNCS[0]; f++) {
        if (!is_kw(p, FUNCS[f].name))
            continue;
        size_t save = p->pos, tl = p->tlen;
        next(p);
        if (p->t == T_LP) {
            if (enter(p) < 0)
                return -1;
            int32_t i = call(p, f, at);
            p->depth--;
            return i;
        }
        p->pos = save; /* a field that happens to be called like a function */
        p->tpos = at;
        p->tlen = tl;
        p->t = T_NAME;
        break;
    }
    return path(p);
}

static int32_t primary(parser *p)
{
    if (p->failed)
        return -1;
    int32_t i;
    switch (p->t) {
    case T_NUM:
        i = node(p, RX_NUM, -1, -1);
        if (i >= 0)
            p->x->nodes[i].num = p->num;
        next(p);
        return i;
    case T_STR:
        i = string_node(p);
        next(p);
        return i;
    case T_LP:
        if (enter(p) < 0)
            return -1;
        next(p);
        i = expr(p);
        p->depth--;
        return expect(p, T_RP, "')'") < 0 ? -1 : i;
    case T_NAME:
        return name_expr(p);
    case T_END:
        return fail(p, p->tpos, "unexpected end of rule");
    default:
        return fail(p, p->tpos, "expected a value");
    }
}

static int32_t unary(parser *p)
{
    if (p->t != T_MINUS)
        return primary(p);
    if (enter(p) < 0)
        return -1;
    next(p);
    int32_t i = node(p, RX_NEG, unary(p), -1);
    p->depth--;
    return i;
}

static int32_t binary(parser *p, int level);

/* Binary operators by level: 0 OR, 1 AND, 3 comparison, 4 sum, 5 product (2 is NOT). */
static enum rx_op bin_op(const parser *p, int level)
{
    static const enum rx_op cmp[] = {[T_EQ] = RX_EQ, [T_NE] = RX_NE, [T_LT] = RX_LT,
                                     [T_LE] = RX_LE, [T_GT] = RX_GT, [T_GE] = RX_GE};
    switch (level) {
    case 0:
        return is_kw(p, "or") ? RX_OR : RX_NULL;
    case 1:
        return is_kw(p, "and") ? RX_AND : RX_NULL;
    case 3:
        return p->t >= T_EQ && p->t <= T_GE ? cmp[p->t] : RX_NULL;
    case 4:
        return p->t == T_PLUS ? RX_ADD : p->t == T_MINUS ? RX_SUB : RX_NULL;
    default:
        return p->t == T_STAR    ? RX_MUL
               : p->t == T_SLASH ? RX_DIV
               : p->t == T_PCT   ? RX_MOD
                                 : RX_NULL;
    }
}

static int32_t operand(parser *p, int level)
{
    if (level == 2) {
        if (!is_kw(p, "not"))
            return binary(p, 3);
        if (enter(p) < 0)
            return -1;
        next(p);
        int32_t i = node(p, RX_NOT, operand(p, 2), -1);
        p->depth--;
        return i;
    }
    return level > 5 ? unary(p) : binary(p, level);
}

static int32_t binary(parser *p, int level)
{
    int32_t left = operand(p, level + 1);
    enum rx_op op;
    while (!p->failed && (op = bin_op(p, level)) != RX_NULL) {
        next(p);
        left = node(p, op, left, operand(p, level + 1));
        if (level == 3)
            break; /* comparisons do not chain */
    }
    return p->failed ? -1 : left;
}

static int32_t expr(parser *p) { return binary(p, 0); }

/* ---- the statement ----------------------------------------------------------------- */

/* The output name of an item without AS: the last path segment, else the function. */
static int item_name(parser *p, rx_item *it, size_t at, size_t end)
{
    const rx_node *nd = &p->x->nodes[it->node];
    const char *s = p->s + at;
    size_t n = end - at;
    if (nd->op == RX_PATH) {
        s = p->x->pool + nd->str;
        const char *dot = strrchr(s, '.');
        s = dot ? dot + 1 : s;
        n = strlen(s);
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n == 0 || n > REXPR_NAME_MAX)
        return fail(p, at, "name the item with AS");
    it->name = pool_add(p, s, n);
    return p->failed ? -1 : 0;
}

static int select_list(parser *p)
{
    if (p->t == T_STAR) {
        next(p);
        return 0;
    }
    for (;;) {
        if (p->x->n_items == RX_ITEMS_MAX)
            return fail(p, p->tpos, "more than %d SELECT items", RX_ITEMS_MAX);
        rx_item *it = &p->x->items[p->x->n_items++];
        size_t at = p->tpos;
        if ((it->node = expr(p)) < 0)
            return -1;
        if (is_kw(p, "as")) {
            next(p);
            if (p->t != T_NAME || p->tlen > REXPR_NAME_MAX || is_kw(p, "from") || is_kw(p, "where"))
                return fail(p, p->tpos, "expected a name after AS");
            it->name = pool_add(p, p->s + p->tpos, p->tlen);
            next(p);
        } else if (item_name(p, it, at, p->tpos) < 0) {
            return -1;
        }
        if (p->failed || p->t != T_COMMA)
            break;
        next(p);
    }
    return p->failed ? -1 : 0;
}

static int set_filter(parser *p, const char *f, size_t n, size_t at, const char *what)
{
    if (n == 0 || n > REXPR_FILTER_MAX || !mqtt_topic_filter_valid((const uint8_t *)f, n))
        return fail(p, at, "%s is not a valid MQTT topic filter", what);
    p->x->filter = pool_add(p, f, n);
    return p->failed ? -1 : 0;
}

static int statement(parser *p)
{
    if (!is_kw(p, "select"))
        return fail(p, p->tpos, "expected SELECT");
    next(p);
    if (select_list(p) < 0)
        return -1;
    if (!is_kw(p, "from"))
        return fail(p, p->tpos, "expected FROM");
    next(p);
    if (p->t != T_STR || (p->s[p->tpos] != '\''))
        return fail(p, p->tpos, "expected a quoted topic filter after FROM");
    if (set_filter(p, p->s + p->tpos + 1, p->tlen - 2, p->tpos, "the FROM filter") < 0)
        return -1;
    next(p);
    if (is_kw(p, "where")) {
        next(p);
        if ((p->x->where = expr(p)) < 0)
            return -1;
    }
    if (p->t != T_END)
        return fail(p, p->tpos, "unexpected text after the rule");
    return 0;
}

/* ---- entry points ------------------------------------------------------------------ */

static int start(parser *p, const char *text, size_t len, size_t extra, const rexpr_limits *lim,
                 rexpr_err *e)
{
    size_t max_len = lim && lim->max_len ? lim->max_len : REXPR_MAX_LEN_DEF;
    *p = (parser){.s = text, .n = len, .e = e};
    p->max_depth = lim && lim->max_depth ? lim->max_depth : REXPR_MAX_DEPTH_DEF;
    e->pos = 0;
    e->msg[0] = '\0';
    if (len > max_len)
        return fail(p, max_len, "rule longer than %zu bytes", max_len);
    if (memchr(text, '\0', len))
        return fail(p, (size_t)((const char *)memchr(text, '\0', len) - text), "NUL byte");
    p->pool_cap = (uint32_t)(len + extra + 2 * REXPR_FILTER_MAX + 16);
    size_t bytes = sizeof(rexpr) + REXPR_MAX_NODES * sizeof(rx_node) + p->pool_cap;
    if (!(p->x = calloc(1, bytes)))
        return fail(p, 0, "out of memory");
    p->x->nodes = (rx_node *)(void *)(p->x + 1);
    p->x->pool = (char *)(p->x->nodes + REXPR_MAX_NODES);
    p->x->where = -1;
    next(p);
    return p->failed ? -1 : 0;
}

static int finish(parser *p, int rc, rexpr **out)
{
    if (rc < 0 || p->failed) {
        free(p->x);
        *out = NULL;
        return -1;
    }
    *out = p->x;
    return 0;
}

int rexpr_compile_sql(const char *text, size_t len, const rexpr_limits *lim, rexpr **out,
                      rexpr_err *e)
{
    parser p;
    int rc = start(&p, text, len, 0, lim, e);
    if (rc == 0)
        rc = statement(&p);
    return finish(&p, rc, out);
}

int rexpr_compile_cond(const char *source, const char *cond, size_t len, const rexpr_limits *lim,
                       rexpr **out, rexpr_err *e)
{
    parser p;
    int rc = start(&p, cond, len, strlen(source), lim, e);
    if (rc == 0)
        rc = set_filter(&p, source, strlen(source), 0, "source");
    if (rc == 0 && p.t != T_END && (p.x->where = expr(&p)) >= 0 && p.t != T_END)
        rc = fail(&p, p.tpos, "unexpected text after the condition");
    return finish(&p, rc, out);
}

void rexpr_free(rexpr *x) { free(x); }

const char *rexpr_filter(const rexpr *x) { return x->pool + x->filter; }
