/*
 * Fuzzes the Range header parser (http/range.c). The first 8 input bytes give the
 * representation size, the rest is the header value.
 *
 * Checks: an OK range lies inside the representation (first <= last < size); the return
 * is one of the four HTTP_RANGE_* values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t len = 0;
    if (size < 8)
        return 0;
    for (int i = 0; i < 8; i++)
        len = len << 8 | data[i];
    len >>= (data[7] & 1) ? 0 : 40; /* half the inputs use small sizes */
    http_range r = {0, 0};
    int rc = http_range_parse((const char *)data + 8, size - 8, len, &r);
    if (rc == HTTP_RANGE_OK && !(r.first <= r.last && r.last < len))
        abort();
    if (rc != HTTP_RANGE_OK && rc != HTTP_RANGE_IGNORE && rc != HTTP_RANGE_UNSAT &&
        rc != HTTP_RANGE_INVALID)
        abort();
    return 0;
}
