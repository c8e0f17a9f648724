#include <criterion/criterion.h>
#include <string.h>

#include "ident/passwd.h"

Test(passwd, hash_is_argon2id_phc_and_verifies)
{
    char phc[PASSWD_PHC_MAX];
    cr_assert_eq(passwd_hash("correct horse", 13, phc), 0);
    cr_assert_eq(strncmp(phc, "$argon2id$v=19$m=19456,t=2,p=1$", 31), 0, "%s", phc);
    cr_assert(passwd_verify(phc, "correct horse", 13));
    cr_assert_not(passwd_verify(phc, "correct horsE", 13));
    cr_assert_not(passwd_verify(phc, "correct hors", 12));
}

Test(passwd, salts_differ)
{
    char a[PASSWD_PHC_MAX], b[PASSWD_PHC_MAX];
    cr_assert_eq(passwd_hash("same password", 13, a), 0);
    cr_assert_eq(passwd_hash("same password", 13, b), 0);
    cr_assert_str_neq(a, b);
}

Test(passwd, foreign_parameters_and_garbage_refused)
{
    /* A row asking for other parameters (e.g. 4 GiB of memory) is never run. */
    cr_assert_not(passwd_verify("$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHQ$aGFzaA", "x", 1));
    cr_assert_not(passwd_verify("$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA", "x", 1));
    cr_assert_not(passwd_verify("", "x", 1));
    cr_assert_not(passwd_verify(NULL, "x", 1));
    passwd_dummy_verify("anything", 8); /* must not crash, returns nothing */
}
