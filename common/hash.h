/**
 * hash — FNV-1a, the one hash of the in-memory tables (session registry, device directory,
 * rate limits, caches). Not for anything an attacker could exploit by choosing keys
 * beyond the cost of a longer probe; never for secrets.
 */
#ifndef IOT_COMMON_HASH_H
#define IOT_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV64_BASIS 14695981039346656037ull
#define HASH_FNV64_PRIME 1099511628211ull
#define HASH_FNV32_BASIS 2166136261u
#define HASH_FNV32_PRIME 16777619u

/** 64-bit FNV-1a of @n bytes at @p. */
static inline uint64_t hash_fnv1a(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = HASH_FNV64_BASIS;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * HASH_FNV64_PRIME;
    return h;
}

/** 64-bit FNV-1a of the NUL-terminated @s. */
static inline uint64_t hash_fnv1a_str(const char *s)
{
    uint64_t h = HASH_FNV64_BASIS;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * HASH_FNV64_PRIME;
    return h;
}

/** 32-bit FNV-1a of the NUL-terminated @s (small fixed tables indexed by modulo). */
static inline uint32_t hash_fnv1a32_str(const char *s)
{
    uint32_t h = HASH_FNV32_BASIS;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * HASH_FNV32_PRIME;
    return h;
}

#endif
