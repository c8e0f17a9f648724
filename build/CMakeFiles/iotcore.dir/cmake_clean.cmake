file(REMOVE_RECURSE
  "CMakeFiles/iotcore.dir/common/buf.c.o"
  "CMakeFiles/iotcore.dir/common/buf.c.o.d"
  "CMakeFiles/iotcore.dir/common/log.c.o"
  "CMakeFiles/iotcore.dir/common/log.c.o.d"
  "libiotcore.a"
  "libiotcore.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/iotcore.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
