/* Signed firmware download URLs (jobs/fw_sign.c): HMAC-SHA-256 over (fw, dev, exp). */
#include <criterion/criterion.h>
#include <string.h>

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
    cr_assert_eq(jobs_fw_verify(other, "fw1", "dev1", 2000, sig, strlen(sig), 0),
                 JOBS_FW_SIG_BAD, "other key");
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
    cr_assert_eq(jobs_fw_verify(KEY, "fw1", "dev1", 2000, sig, 63, 0), JOBS_FW_SIG_BAD,
                 "short");
    cr_assert_eq(verify("fw1", "dev1", 2000, "", 0), JOBS_FW_SIG_BAD, "empty");
    sig[10] = 'g';
    cr_assert_eq(verify("fw1", "dev1", 2000, sig, 0), JOBS_FW_SIG_BAD, "not hex");
    cr_assert_eq(jobs_fw_sign(KEY, "fw1", "dev1", 2000, sig), 0);
    sig[63] = sig[63] == '0' ? '1' : '0';
    cr_assert_eq(verify("fw1", "dev1", 2000, sig, 0), JOBS_FW_SIG_BAD, "one digit off");
}
