// names_test.cpp: plain_function_name on the shapes debuggers report.
#include <gtest/gtest.h>

#include "frameaudit/names.h"

using frameaudit::plain_function_name;

TEST(PlainFunctionName, StripsArgumentLists) {
  EXPECT_EQ(plain_function_name("main"), "main");
  EXPECT_EQ(plain_function_name("level2(int, char*)"), "level2");
  EXPECT_EQ(plain_function_name("ns::f<int>(int) const"), "ns::f<int>");
  EXPECT_EQ(plain_function_name("ns::g<void (*)(int)>(void (*)(int))"), "ns::g<void (*)(int)>");
  EXPECT_EQ(plain_function_name("Foo::operator()(int)"), "Foo::operator()");
  EXPECT_EQ(plain_function_name("operator<<(std::ostream&, int)"), "operator<<");
  EXPECT_EQ(plain_function_name("A::operator->() const"), "A::operator->");
  EXPECT_EQ(plain_function_name("(anonymous namespace)::thrower(int)"),
            "(anonymous namespace)::thrower");
  EXPECT_EQ(plain_function_name(""), "");
}
