file(REMOVE_RECURSE
  "CMakeFiles/iotcloud.dir/app/main.c.o"
  "CMakeFiles/iotcloud.dir/app/main.c.o.d"
  "iotcloud"
  "iotcloud.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/iotcloud.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
