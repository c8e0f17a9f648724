/**
 * vec — the growable array: room for more elements in a plain (pointer, capacity) pair,
 * doubling, with overflow checks. The element count stays with the caller, so existing
 * structs keep their fields; only the growth policy lives here.
 *
 * Not thread-safe by itself: the array belongs to whoever owns the struct holding it.
 */
#ifndef IOT_COMMON_VEC_H
#define IOT_COMMON_VEC_H

#include <stddef.h>

/**
 * Makes *@v (capacity *@cap elements of @size bytes) hold at least @need elements: the
 * capacity doubles from *@cap, or from @first when it is 0. 0, or -1 when memory runs out
 * or the size would overflow; then *@v and *@cap are unchanged (still valid).
 */
int vec_reserve(void **v, size_t *cap, size_t need, size_t size, size_t first);

#endif
