# The layers of docs/DESIGN.md section 2, checked on the includes of src/:
# a file includes only from its own layer and the layers below it; and the
# loop names the task layer at one place only, the seam of DESIGN section 3
# (tulip__task_resume, the ready queue's tag dispatch).
# Run: cmake -DROOT=<source dir> -P check_layers.cmake
cmake_minimum_required(VERSION 3.16)
if(NOT ROOT)
  message(FATAL_ERROR "ROOT not set")
endif()
set(layer_common 0)
set(layer_platform 1)
set(layer_loop 2)
set(layer_backend 2)
set(layer_task 3)
set(layer_debug 4)
set(layer_sync 4)
set(layer_io 5)
set(layer_runtime 6)
set(layer_http 7)
# Known exceptions, each with its reason. The io_uring backend's operations
# (submit and park, complete and wake) use the task layer from layer 2; they
# are the io layer's use of the ring and are to move above the loop. Their
# records live in the task's wait block after its single-wait record, which
# only the sync layer's xwait.h may grow (it sets that record's fixed
# fields): uring_ops.h takes the block from there (issue 18).
set(allowed "src/backend/uring_ops.c>task;src/backend/uring_recv.c>task;src/backend/uring_ops.h>sync")

set(errors 0)
file(GLOB_RECURSE files RELATIVE "${ROOT}" "${ROOT}/src/*.c" "${ROOT}/src/*.h")
foreach(f IN LISTS files)
  string(REGEX MATCH "^src/([a-z]+)/" _ "${f}")
  set(own "${CMAKE_MATCH_1}")
  if(NOT DEFINED layer_${own})
    message(SEND_ERROR "${f}: folder ${own} is in no layer of docs/DESIGN.md")
    math(EXPR errors "${errors} + 1")
    continue()
  endif()
  file(STRINGS "${ROOT}/${f}" incs REGEX "^#include \"\\.\\./[a-z]+/")
  foreach(line IN LISTS incs)
    string(REGEX MATCH "\\.\\./([a-z]+)/" _ "${line}")
    set(dep "${CMAKE_MATCH_1}")
    if(dep STREQUAL own OR "${f}>${dep}" IN_LIST allowed)
      continue()
    endif()
    if(NOT DEFINED layer_${dep} OR layer_${dep} GREATER layer_${own})
      message(SEND_ERROR "${f} (layer ${layer_${own}}) includes ${dep} (layer ${layer_${dep}})")
      math(EXPR errors "${errors} + 1")
    endif()
  endforeach()
endforeach()

# The seam: in src/loop, no name of the task or debug layer but one.
file(GLOB loop_files "${ROOT}/src/loop/*.c" "${ROOT}/src/loop/*.h")
foreach(f IN LISTS loop_files)
  file(STRINGS "${f}" lines REGEX "tulip__(task|sched|debug|park|current|waitq|wait_enter)|tulip_debug_|tulip_dump_")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "tulip__task_resume" "" rest "${line}")
    if(rest MATCHES "tulip__(task|sched|debug|park|current|waitq|wait_enter)|tulip_debug_|tulip_dump_")
      message(SEND_ERROR "${f}: names an upper layer outside the seam: ${line}")
      math(EXPR errors "${errors} + 1")
    endif()
  endforeach()
endforeach()

if(errors GREATER 0)
  message(FATAL_ERROR "${errors} layer rule(s) broken (docs/DESIGN.md sections 2-3)")
endif()
list(LENGTH files n)
message(STATUS "layers: ${n} files of src/ include only downwards; the loop names tasks only at the seam")
