/* Small helpers shared by the unit tests that run real loops and sockets. */
#ifndef IOT_TESTS_UNIT_TEST_UTIL_H
#define IOT_TESTS_UNIT_TEST_UTIL_H

#include <stdint.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Polls @cond every millisecond for at most @ms; the caller asserts afterwards. */
#define WAIT_FOR(cond, ms)                                                                         \
    do {                                                                                           \
        uint64_t t0_ = now_ms();                                                                   \
        while (!(cond) && now_ms() - t0_ < (ms))                                                   \
            usleep(1000);                                                                          \
    } while (0)

#endif
