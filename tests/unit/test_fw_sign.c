/* Signed firmware download URLs (jobs/fw_sign.c): HMAC-SHA-256 over (fw, dev, exp). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ident/auth.h"
#include "jobs/fw_sign.h"

static const uint8_t KEY[JOBS_FW_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

static int verify(const char *fw, const char *dev, int64_t exp, const char *sig, int64_t now)
{
    return jobs_fw_verify(KEY, fw, dev, exp, sig, strlen(sig), now);
}

Test(fw_sign, round_trip_until_expiry)
{
    char sig[JOBS_FW_SIG_HEX + 1];
    cr_assert_eq(jobs_fw_sign(KEY, "fw1", "dev1", 2000, sig), 0);
    cr_assert_eq(strlen(sig), JOBS_FW_SIG_HEX);
    cr_assert_eq(strspn(sig, "0123456789abcdef"), JOBS_FW_SIG_HEX, "lower-case hex");
    cr_assert_eq(verify("fw1", "dev1", 2000, sig, 1999), JOBS_FW_SIG_OK);
    cr_assert_eq(verify("fw1", "dev1", 2000, sig, 2000), JOBS_FW_SIG_EXPIRED);
    for (char *p = sig; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    cr_assert_eq(verify("fw1", "dev1", 2000, sig, 1999), JOBS_FW_SIG_OK, "hex case-free");
}

Test(fw_sign, bound_to_firmware_device_expiry_and_key)
{
    char sig[JOBS_FW_SIG_HEX + 1];
    cr_assert_eq(jobs_fw_sign(KEY, "fw1", "dev1", 2000, sig), 0);
    cr_assert_eq(verify("fw2", "dev1", 2000, sig, 0), JOBS_FW_SIG_BAD, "other firmware");
    cr_assert_eq(verify("fw1", "dev2", 2000, sig, 0), JOBS_FW_SIG_BAD, "other device");
    cr_assert_eq(verify("fw1", "dev1", 2001, sig, 0), JOBS_FW_SIG_BAD, "extended expiry");
    cr_assert_eq(verify("fw1", "dev1", 1000, sig, 5000), JOBS_FW_SIG_BAD,
                 "a forged URL is bad, not expired");
    uint8_t other[JOBS_FW_KEY_LEN] = {9};
    cr_assert_eq(jobs_fw_verify(other, "fw1", "dev1", 2000, sig, strlen(sig), 0), JOBS_FW_SIG_BAD,
                 "other key");
}

Test(fw_sign, fields_do_not_run_together)
{
    char a[JOBS_FW_SIG_HEX + 1], b[JOBS_FW_SIG_HEX + 1];
    cr_assert_eq(jobs_fw_sign(KEY, "fw1d", "ev1", 2000, a), 0);
    cr_assert_eq(jobs_fw_sign(KEY, "fw1", "dev1", 2000, b), 0);
    cr_assert_str_neq(a, b, "length-prefixed fields");
}

Test(fw_sign, malformed_signatures_bad)
{
    char sig[JOBS_FW_SIG_HEX + 1];
    cr_assert_eq(jobs_fw_sign(KEY, "fw1", "dev1", 2000, sig), 0);
    cr_assert_eq(jobs_fw_verify(KEY, "fw1", "dev1", 2000, sig, 63, 0), JOBS_FW_SIG_BAD, "short");
    cr_assert_eq(verify("fw1", "dev1", 2000, "", 0), JOBS_FW_SIG_BAD, "empty");
    sig[10] = 'g';
    cr_assert_eq(verify("fw1", "dev1", 2000, sig, 0), JOBS_FW_SIG_BAD, "not hex");
    cr_assert_eq(jobs_fw_sign(KEY, "fw1", "dev1", 2000, sig), 0);
    sig[63] = sig[63] == '0' ? '1' : '0';
    cr_assert_eq(verify("fw1", "dev1", 2000, sig, 0), JOBS_FW_SIG_BAD, "one digit off");
}

/* The key file: DATA_DIR/firmware-hmac.key, 0600, created once then read back. */
Test(fw_sign, key_file_created_0600_then_reused)
{
    char dir[] = "/tmp/fwkeyXXXXXX", path[64], err[256] = "";
    uint8_t k1[AUTH_SECRET_LEN], k2[AUTH_SECRET_LEN];
    struct stat st;
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(auth_key_file_load(dir, "firmware-hmac.key", "firmware URLs", k1, err, sizeof err),
                 0, "%s", err);
    snprintf(path, sizeof path, "%s/firmware-hmac.key", dir);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(auth_key_file_load(dir, "firmware-hmac.key", "firmware URLs", k2, err, sizeof err),
                 0, "%s", err);
    cr_assert_eq(memcmp(k1, k2, sizeof k1), 0, "the same key after a restart");
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("not hex\n", f);
    fclose(f);
    cr_assert_eq(auth_key_file_load(dir, "firmware-hmac.key", "firmware URLs", k2, err, sizeof err),
                 -1);
    cr_assert(strstr(err, "firmware-hmac.key") && strstr(err, "firmware URLs"), "%s", err);
    unlink(path);
    rmdir(dir);
}
