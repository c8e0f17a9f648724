file(REMOVE_RECURSE
  "libiotcore.a"
)
