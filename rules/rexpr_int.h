/*
 * rexpr_int — private to rules/rexpr*.c: the compiled form and the tokens.
 *
 * A compiled rule is one allocation: the struct, then `nodes`, then the string pool
 * (literals, dotted field paths, output names and the filter, each NUL-terminated). Nodes
 * refer to their operands by index; the parser bounds the depth, so evaluation recurses at
 * most max_depth frames.
 */
#ifndef IOT_RULES_REXPR_INT_H
#define IOT_RULES_REXPR_INT_H

#include <stddef.h>
#include <stdint.h>

#include "rules/rexpr.h"

enum rx_op {
    RX_NULL,
    RX_NUM,
    RX_BOOL,
    RX_STR,
    RX_PATH, /* str: dotted path ("a.0.b") */
    RX_OR,
    RX_AND,
    RX_NOT,
    RX_EQ,
    RX_NE,
    RX_LT,
    RX_LE,
    RX_GT,
    RX_GE,
    RX_ADD,
    RX_SUB,
    RX_MUL,
    RX_DIV,
    RX_MOD,
    RX_NEG,
    RX_ABS,
    RX_ROUND, /* a, b (digits; -1 = none) */
    RX_STARTSWITH,
    RX_CONTAINS,
    RX_TOPIC, /* a: the level (1-based) */
    RX_DEVICEID,
    RX_TIMESTAMP,
};

typedef struct rx_node {
    uint8_t op;
    int32_t a, b; /* operand nodes (-1: none) */
    double num;   /* RX_NUM, RX_BOOL (0/1) */
    uint32_t str; /* offset in the pool (RX_STR, RX_PATH) */
    uint32_t len; /* bytes of the string */
} rx_node;

typedef struct rx_item {
    int32_t node;  /* the expression */
    uint32_t name; /* output name, pool offset */
} rx_item;

#define RX_ITEMS_MAX 32

struct rexpr {
    int32_t where; /* -1: none */
    uint32_t filter;
    int32_t n_items; /* 0: SELECT * */
    rx_item items[RX_ITEMS_MAX];
    uint32_t n_nodes;
    rx_node *nodes;
    char *pool;
};

/* A value during evaluation: strings point into the rule, the topic or the payload. */
enum rx_type { RXV_NULL, RXV_NUM, RXV_BOOL, RXV_STR };
typedef struct rx_val {
    enum rx_type t;
    double num;
    const char *s;
    size_t len;
} rx_val;

/* rexpr_eval.c: the value of node @i. */
rx_val rexpr__eval(const rexpr *x, int32_t i, const rexpr_ctx *c);

#endif
