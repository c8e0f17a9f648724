/**
 * ident/acct_rules — what a username, an e-mail address and a password must look like.
 * Pure functions, shared by the REST handlers and the `iotcloud user` CLI.
 */
#ifndef IOT_HTTP_ACCT_RULES_H
#define IOT_HTTP_ACCT_RULES_H

#include <stddef.h>

#define ACCT_USERNAME_MAX 64
#define ACCT_EMAIL_MAX    254 /* RFC 5321 path limit */
#define ACCT_PASSWORD_MIN 10
#define ACCT_PASSWORD_MAX 1024 /* Argon2 takes any length; bound the work per request */
#define ACCT_NAME_MAX     128  /* given / family name */

/** Normalises a username into @out (lower-cased): 3..64 characters of [a-z0-9._-], first
 *  a letter or digit. 0, or <0 with a reason in @why (for a 400 message). */
int acct_username_norm(const char *in, char *out, size_t cap, const char **why);
/** A normalised username that no account may take: one with the shape of a device id
 *  ("d" + 24 hex digits, ident/devdir.h), so that an MQTT username names either a device
 *  or a user, never both. 0, or <0 with @why. */
int acct_username_reserved(const char *norm, const char **why);
/** Normalises an e-mail address into @out (domain lower-cased, local part kept): one '@',
 *  non-empty local part, a dot in the domain, no spaces or control characters, at most 254
 *  bytes. 0 or <0 with @why. */
int acct_email_norm(const char *in, char *out, size_t cap, const char **why);
/** Password policy: 10..1024 bytes, not equal (ignoring ASCII case) to the username or the
 *  e-mail address or its local part. 0 or <0 with @why. */
int acct_password_check(const char *pw, const char *username, const char *email, const char **why);
/** A person's name: 1..128 bytes of UTF-8 without control characters. */
int acct_name_check(const char *name, const char **why);

#endif
