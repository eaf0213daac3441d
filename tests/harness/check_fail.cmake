# Run PROG WHERE (tests/harness/fail_in_task.c) and check cmocka's report:
# exactly one of the two cases failed, the one that fails on purpose, with
# its assertion's message (the failure is not hidden), and the second case,
# which runs tulip_run again, passed (before the harness freed the loop the
# first case left running, it failed with -EBUSY).
# Usage: cmake -DPROG=... -DWHERE=main|child|callback|workers -P check_fail.cmake
execute_process(COMMAND ${PROG} ${WHERE} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
  TIMEOUT 50)
set(all "${out}${err}")
message("${all}")
set(want
  "\\[  FAILED  \\] fails_inside_a_task\n"
  "\\[       OK \\] runs_after_it\n"
  "\\[  PASSED  \\] 1 test\\(s\\)\\."
  "\\[  FAILED  \\] 1 test\\(s\\), listed below:\n\\[  FAILED  \\] fails_inside_a_task\n"
  "left 1 loop running")
if(WHERE STREQUAL "callback")
  list(APPEND want "0x3 != 0x4")
else()
  list(APPEND want "0x1 != 0x2")
endif()
foreach(w IN LISTS want)
  if(NOT all MATCHES "${w}")
    message(FATAL_ERROR "fail_in_task ${WHERE}: the report lacks \"${w}\"")
  endif()
endforeach()
if(all MATCHES "fffffff0")
  message(FATAL_ERROR "fail_in_task ${WHERE}: a case got -EBUSY")
endif()
# cmocka's exit status is the number of failed cases
if(NOT rc STREQUAL "1")
  message(FATAL_ERROR "fail_in_task ${WHERE}: exit status ${rc}, want 1 (one failed case)")
endif()
message("fail_in_task ${WHERE}: one case failed as it should, the next one passed")
