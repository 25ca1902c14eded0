# fixture_replay.cmake: the `fixture_images` CTest test. Captures fresh memory
# images of the fixture matrix (capture_image.py) and replays them through
# the core (FixtureReplay.* in frameaudit_unit_tests, which compares every
# image with its fixture's ground truth).
file(REMOVE_RECURSE ${IMAGES})
file(MAKE_DIRECTORY ${IMAGES})
execute_process(
  COMMAND ${PYTHON} ${CAPTURE} --matrix ${MATRIX} ${IMAGES} --stops ${STOPS}
  RESULT_VARIABLE capture_result)
if(NOT capture_result EQUAL 0)
  message(FATAL_ERROR "capture_image.py failed (${capture_result})")
endif()
set(ENV{FRAMEAUDIT_CAPTURED_IMAGES} ${IMAGES})
execute_process(COMMAND ${TESTS} --gtest_filter=FixtureReplay.* RESULT_VARIABLE replay_result)
if(NOT replay_result EQUAL 0)
  message(FATAL_ERROR "the core does not reproduce every fixture's ground truth")
endif()
