#include <criterion/criterion.h>
#include <string.h>

#include "ident/acct_rules.h"

Test(acct_rules, username_is_case_folded)
{
    char out[65];
    const char *why = NULL;
    cr_assert_eq(acct_username_norm("Alice.B-2_x", out, sizeof out, &why), 0);
    cr_assert_str_eq(out, "alice.b-2_x");
}

Test(acct_rules, username_refusals)
{
    char out[65];
    const char *why = NULL;
    const char *bad[] = {
        "",       "ab",
        ".alice", "al ice",
        "al/ice", "alice@x",
        "é-user", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        cr_assert_lt(acct_username_norm(bad[i], out, sizeof out, &why), 0, "%s", bad[i]);
        cr_assert_not_null(why);
    }
    cr_assert_lt(acct_username_norm(NULL, out, sizeof out, &why), 0);
    cr_assert_lt(acct_username_norm("alice", out, 4, &why), 0, "output too small");
}

Test(acct_rules, email_domain_lowered_local_kept)
{
    char out[255];
    const char *why = NULL;
    cr_assert_eq(acct_email_norm("Bob.Smith@Example.COM", out, sizeof out, &why), 0);
    cr_assert_str_eq(out, "Bob.Smith@example.com");
}

Test(acct_rules, email_refusals)
{
    char out[255];
    const char *why = NULL;
    const char *bad[] = {"",
                         "bob",
                         "@example.com",
                         "bob@",
                         "bob@host",
                         "bob@.example",
                         "bob@ex..com",
                         "bob@example.com.",
                         "b ob@x.io",
                         "a@b@c.io",
                         "bob@x.io\r\nBcc: x@y.io"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_lt(acct_email_norm(bad[i], out, sizeof out, &why), 0, "%s", bad[i]);
}

Test(acct_rules, password_policy)
{
    const char *why = NULL;
    cr_assert_eq(acct_password_check("correct horse", "alice", "alice@example.com", &why), 0);
    cr_assert_lt(acct_password_check("short", "alice", "a@example.com", &why), 0);
    cr_assert_lt(acct_password_check("alicealice", "AliceAlice", "a@example.com", &why), 0);
    cr_assert_lt(acct_password_check("Bob@Example.com", "alice", "bob@example.com", &why), 0);
    cr_assert_lt(acct_password_check("bobbybobby", "alice", "bobbybobby@example.com", &why), 0);
    char big[ACCT_PASSWORD_MAX + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_lt(acct_password_check(big, "alice", "a@example.com", &why), 0);
    big[ACCT_PASSWORD_MAX] = '\0';
    cr_assert_eq(acct_password_check(big, "alice", "a@example.com", &why), 0);
}

Test(acct_rules, names)
{
    const char *why = NULL;
    cr_assert_eq(acct_name_check("Zoë", &why), 0);
    cr_assert_lt(acct_name_check("", &why), 0);
    cr_assert_lt(acct_name_check("a\nb", &why), 0);
}

Test(acct_rules, device_id_shaped_usernames_are_reserved)
{
    const char *why = NULL;
    char out[ACCT_USERNAME_MAX + 1];
    cr_assert_eq(acct_username_norm("D0123456789ABCDEF01234567", out, sizeof out, &why), 0);
    cr_assert_lt(acct_username_reserved(out, &why), 0, "folded, it is a device id");
    cr_assert_not_null(strstr(why, "device id"));
    cr_assert_eq(acct_username_reserved("d0123456789abcdef0123456", &why), 0, "24 characters");
    cr_assert_eq(acct_username_reserved("d0123456789abcdef0123456x", &why), 0, "not hex");
    cr_assert_eq(acct_username_reserved("alice", &why), 0);
}
