#include <criterion/criterion.h>
#include <string.h>

#include "api/accounts/accounts_int.h"

#define NAME "__Secure-iot_refresh"

Test(auth_cookie, finds_the_named_cookie)
{
    char v[64];
    cr_assert_eq(auth__cookie_find(NAME "=abc", NAME, v, sizeof v), 0);
    cr_assert_str_eq(v, "abc");
    cr_assert_eq(auth__cookie_find("a=1; " NAME "=tok-en_9; b=2", NAME, v, sizeof v), 0);
    cr_assert_str_eq(v, "tok-en_9");
    cr_assert_eq(auth__cookie_find("x" NAME "=no; " NAME "=yes ", NAME, v, sizeof v), 0);
    cr_assert_str_eq(v, "yes");
}

Test(auth_cookie, absent_empty_or_too_long)
{
    char v[8];
    cr_assert_lt(auth__cookie_find(NULL, NAME, v, sizeof v), 0);
    cr_assert_lt(auth__cookie_find("", NAME, v, sizeof v), 0);
    cr_assert_lt(auth__cookie_find("a=1; b=2", NAME, v, sizeof v), 0);
    cr_assert_lt(auth__cookie_find(NAME "=", NAME, v, sizeof v), 0);
    cr_assert_lt(auth__cookie_find(NAME, NAME, v, sizeof v), 0);
    cr_assert_lt(auth__cookie_find(NAME "X=abc", NAME, v, sizeof v), 0);
    cr_assert_lt(auth__cookie_find(NAME "=12345678", NAME, v, sizeof v), 0); /* 8 >= cap */
    cr_assert_eq(auth__cookie_find(NAME "=1234567", NAME, v, sizeof v), 0);
    cr_assert_lt(auth__cookie_find(";;; ;", NAME, v, sizeof v), 0);
}
