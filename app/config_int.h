/**
 * config internals shared by config.c (keys and text), config_args.c (argv and files) and
 * config_listen.c. Not part of the public contract.
 */
#ifndef IOT_APP_CONFIG_INT_H
#define IOT_APP_CONFIG_INT_H

#include "app/config.h"

/* Longest key name we accept; longer ones cannot be in the table anyway. */
#define CONFIG__KEY_MAX 64
/* Error text from one setter, before "NAME:LINE: " or "--flag: " is put in front. */
#define CONFIG__MSG_MAX 384

/** Per-source state: a file and the command line are separate sources, and the first
 *  "listen" of each source replaces what came before it. */
typedef struct config__source {
    bool listen_seen;
} config__source;

/** Copies @key into @out with '_' turned into '-' (mosquitto spelling); -1 if too long. */
int config__norm_key(const char *key, size_t keylen, char out[CONFIG__KEY_MAX]);

/** True when @key (normalised) names a boolean option. */
bool config__key_is_bool(const char *key);

/** True when @key (normalised) names any option. */
bool config__key_known(const char *key);

/** Applies one normalised key and its value; 0, or -1 with a message (no location). */
int config__apply(iot_config *c, config__source *src, const char *key, const char *value, char *msg,
                  size_t msglen);

/** Parses true/false/yes/no/1/0 (any case); 0 or -1. */
int config__parse_bool(const char *s, bool *out);

#endif
