/*
 * shd_int — private to shadows/: the document rules (shd_merge.c, shd_delta.c,
 * shd_limits.c) behind shadow.h.
 */
#ifndef IOT_SHADOWS_SHD_INT_H
#define IOT_SHADOWS_SHD_INT_H

#include "shadows/shadow.h"

/* Merges @patch into @old (NULL: empty) into @out, and their metadata: @old_meta (NULL:
 * none) into @out_meta, with @ts at every leaf the patch sets. Objects merge, null
 * deletes, anything else (arrays too) replaces. */
bool shd__merge(const bson_t *old, const bson_t *old_meta, const bson_t *patch, int64_t ts,
                bson_t *out, bson_t *out_meta);
/* @patch without its null leaves (a new key set to null is nothing), its metadata with
 * @ts at every leaf. */
bool shd__fresh(const bson_t *patch, int64_t ts, bson_t *out, bson_t *out_meta);
/* The desired keys whose value differs from @reported (NULL: none) into @out, and the
 * desired metadata of those keys into @out_meta. true when @out is not empty. */
bool shd__delta(const bson_t *desired, const bson_t *reported, const bson_t *meta, bson_t *out,
                bson_t *out_meta);
/* Whether two BSON values are equal (numbers by value, documents byte for byte). */
bool shd__value_eq(const bson_iter_t *a, const bson_iter_t *b);
/* Whether @section (an object under desired/reported) is within @lim: depth and keys. */
bool shd__within(const bson_t *section, const shd_limits *lim);
/* Sub-document @key of @d into @out (static, read-only); false when absent or not an
 * object. */
bool shd__sub(const bson_t *d, const char *key, bson_t *out);
/* Bytes of @d as JSON text, 0 when it cannot be encoded. */
size_t shd__json_size(const bson_t *d);
/* Parses a request body (empty: {}) into *@out (initialised on success) and its
 * clientToken into @res->token; <0 after a 400 rejection. */
int shd__request(const uint8_t *req, size_t len, bson_t *out, shd_result *res, int64_t now_s);
/* Fills @res as a rejection: @code, @msg and the /rejected document. Returns -1. */
int shd__reject(shd_result *res, int code, const char *msg, int64_t now_s);

#endif
