# A CTest test that stands for a suite whose tool is missing: it fails with
# one sentence naming the tool and its Debian package, so a machine without
# the tool cannot pass (nor skip) silently. See frameaudit_missing_tool_test
# in tests/CMakeLists.txt.
message(FATAL_ERROR "${MESSAGE}")
