/* The growable array (common/vec.h): growth policy and refusals. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/vec.h"

Test(vec, first_growth_uses_first_then_doubles)
{
    int *v = NULL;
    size_t cap = 0;
    cr_assert_eq(vec_reserve((void **)&v, &cap, 1, sizeof *v, 16), 0);
    cr_assert_eq(cap, 16);
    cr_assert_not_null(v);
    for (int i = 0; i < 16; i++)
        v[i] = i;
    cr_assert_eq(vec_reserve((void **)&v, &cap, 17, sizeof *v, 16), 0);
    cr_assert_eq(cap, 32);
    for (int i = 0; i < 16; i++)
        cr_assert_eq(v[i], i, "contents kept across growth");
    cr_assert_eq(vec_reserve((void **)&v, &cap, 100, sizeof *v, 16), 0);
    cr_assert_eq(cap, 128, "doubles until it fits");
    free(v);
}

Test(vec, enough_room_is_a_no_op)
{
    int *v = NULL;
    size_t cap = 0;
    cr_assert_eq(vec_reserve((void **)&v, &cap, 3, sizeof *v, 4), 0);
    int *was = v;
    cr_assert_eq(vec_reserve((void **)&v, &cap, 4, sizeof *v, 4), 0);
    cr_assert_eq(v, was);
    cr_assert_eq(cap, 4);
    free(v);
}

Test(vec, overflow_refused_and_array_kept)
{
    int *v = NULL;
    size_t cap = 0;
    cr_assert_eq(vec_reserve((void **)&v, &cap, 2, sizeof *v, 2), 0);
    int *was = v;
    cr_assert_eq(vec_reserve((void **)&v, &cap, SIZE_MAX / 2 + 2, sizeof *v, 2), -1);
    cr_assert_eq(vec_reserve((void **)&v, &cap, SIZE_MAX / sizeof *v + 1, sizeof *v, 2), -1);
    cr_assert_eq(v, was);
    cr_assert_eq(cap, 2);
    free(v);
}
