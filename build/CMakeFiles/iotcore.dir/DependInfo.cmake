
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/broker/broker.c" "CMakeFiles/iotcore.dir/broker/broker.c.o" "gcc" "CMakeFiles/iotcore.dir/broker/broker.c.o.d"
  "/work/main/broker/conn.c" "CMakeFiles/iotcore.dir/broker/conn.c.o" "gcc" "CMakeFiles/iotcore.dir/broker/conn.c.o.d"
  "/work/main/broker/deliver.c" "CMakeFiles/iotcore.dir/broker/deliver.c.o" "gcc" "CMakeFiles/iotcore.dir/broker/deliver.c.o.d"
  "/work/main/broker/handle_connect.c" "CMakeFiles/iotcore.dir/broker/handle_connect.c.o" "gcc" "CMakeFiles/iotcore.dir/broker/handle_connect.c.o.d"
  "/work/main/broker/handle_publish.c" "CMakeFiles/iotcore.dir/broker/handle_publish.c.o" "gcc" "CMakeFiles/iotcore.dir/broker/handle_publish.c.o.d"
  "/work/main/broker/handle_subscribe.c" "CMakeFiles/iotcore.dir/broker/handle_subscribe.c.o" "gcc" "CMakeFiles/iotcore.dir/broker/handle_subscribe.c.o.d"
  "/work/main/broker/handover.c" "CMakeFiles/iotcore.dir/broker/handover.c.o" "gcc" "CMakeFiles/iotcore.dir/broker/handover.c.o.d"
  "/work/main/broker/memio.c" "CMakeFiles/iotcore.dir/broker/memio.c.o" "gcc" "CMakeFiles/iotcore.dir/broker/memio.c.o.d"
  "/work/main/broker/msg.c" "CMakeFiles/iotcore.dir/broker/msg.c.o" "gcc" "CMakeFiles/iotcore.dir/broker/msg.c.o.d"
  "/work/main/broker/net_glue.c" "CMakeFiles/iotcore.dir/broker/net_glue.c.o" "gcc" "CMakeFiles/iotcore.dir/broker/net_glue.c.o.d"
  "/work/main/broker/registry.c" "CMakeFiles/iotcore.dir/broker/registry.c.o" "gcc" "CMakeFiles/iotcore.dir/broker/registry.c.o.d"
  "/work/main/broker/route.c" "CMakeFiles/iotcore.dir/broker/route.c.o" "gcc" "CMakeFiles/iotcore.dir/broker/route.c.o.d"
  "/work/main/broker/session.c" "CMakeFiles/iotcore.dir/broker/session.c.o" "gcc" "CMakeFiles/iotcore.dir/broker/session.c.o.d"
  "/work/main/broker/subs.c" "CMakeFiles/iotcore.dir/broker/subs.c.o" "gcc" "CMakeFiles/iotcore.dir/broker/subs.c.o.d"
  "/work/main/common/buf.c" "CMakeFiles/iotcore.dir/common/buf.c.o" "gcc" "CMakeFiles/iotcore.dir/common/buf.c.o.d"
  "/work/main/common/log.c" "CMakeFiles/iotcore.dir/common/log.c.o" "gcc" "CMakeFiles/iotcore.dir/common/log.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
