/* TEMPORARY placeholder: the application collections (migration 2) are written in another
 * branch; this empty migration lets store/ build until that schema_app.c is merged. */
#include "store/store_int.h"

const char *const store__app_migration = "";
