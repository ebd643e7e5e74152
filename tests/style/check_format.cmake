# tests/style/check_format.cmake — fails, listing the places, when a C++ file of the tree is not formatted as
# .clang-format says (Google's layout, 4-space indents, 120 columns). scripts/format.sh formats the tree. Run by CTest:
#   cmake -DCLANG_FORMAT=/usr/bin/clang-format -DSOURCE_DIR=... -P check_format.cmake
if(NOT CLANG_FORMAT)
  message(FATAL_ERROR "style check: clang-format not found (scripts/install_deps.sh installs it)")
endif()
set(dirs core autograd backends ops nn models apps tests bench)
set(files "")
foreach(dir ${dirs})
  file(GLOB_RECURSE found ${SOURCE_DIR}/${dir}/*.h ${SOURCE_DIR}/${dir}/*.cpp ${SOURCE_DIR}/${dir}/*.cu)
  list(APPEND files ${found})
endforeach()
list(LENGTH files count)
execute_process(COMMAND ${CLANG_FORMAT} --style=file --dry-run --Werror ${files}
                WORKING_DIRECTORY ${SOURCE_DIR} RESULT_VARIABLE rc ERROR_VARIABLE report)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "style check: files that clang-format would change (run scripts/format.sh):\n${report}")
endif()
message(STATUS "style check: ${count} files formatted as .clang-format says")
