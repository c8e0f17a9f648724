/**
 * container_of — the struct that embeds @ptr as its @member (the libuv handle idiom:
 * callbacks get the embedded handle, the owner is found from it).
 */
#ifndef IOT_COMMON_CONTAINER_OF_H
#define IOT_COMMON_CONTAINER_OF_H

#include <stddef.h>

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#endif
