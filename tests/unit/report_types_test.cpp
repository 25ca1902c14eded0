// report_types_test.cpp: the compact value types of the report. Name
// (interned names) and LinkChecks (a link's checks kept inline).
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "frameaudit/report.h"

namespace {

using frameaudit::CheckKind;
using frameaudit::LinkCheck;
using frameaudit::LinkChecks;
using frameaudit::Name;

TEST(Name, EmptyByDefaultLikeAnOptional) {
  Name n;
  EXPECT_FALSE(n);
  EXPECT_FALSE(n.has_value());
  EXPECT_EQ(n, std::nullopt);
  EXPECT_EQ(n.value_or("?"), "?");
  EXPECT_EQ(n.optional(), std::nullopt);
  EXPECT_FALSE(n == "");
}

TEST(Name, EqualStringsShareOneCopy) {
  const std::string a = "a_function_name_longer_than_the_small_string_buffer";
  Name x(a), y(std::string(a.c_str()));
  ASSERT_TRUE(x);
  EXPECT_EQ(&*x, &*y); // interned: the same pool string
  EXPECT_EQ(x, y);
  EXPECT_EQ(x, a);
  EXPECT_EQ(x, a.c_str());
  EXPECT_EQ(x, std::optional<std::string>(a));
  EXPECT_NE(x, Name("other"));
  EXPECT_NE(x, std::nullopt);
}

TEST(Name, AssignsFromOptionalsAndStrings) {
  Name n;
  n = std::optional<std::string>("level2");
  EXPECT_EQ(n, "level2");
  n = std::optional<std::string>();
  EXPECT_FALSE(n);
  n = "main";
  EXPECT_EQ(*n, "main");
  n.reset();
  EXPECT_FALSE(n);
  // The empty string is a name, not "no name" (a function may have one).
  n = std::string();
  EXPECT_TRUE(n);
  EXPECT_EQ(n, "");
  const std::optional<std::string> back = Name("fixture.c");
  EXPECT_EQ(back, "fixture.c");
}

TEST(Name, InterningIsThreadSafe) {
  // LLDB may run commands on more than one thread: concurrent interning of
  // the same and of different names must agree.
  std::vector<const std::string *> seen(8);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < seen.size(); ++t)
    threads.emplace_back([&seen, t] {
      for (int i = 0; i < 2000; ++i)
        (void)Name("n" + std::to_string(i % 97) + "_" + std::to_string(t % 2));
      seen[t] = &*Name("shared-name");
    });
  for (auto &th : threads)
    th.join();
  for (const auto *p : seen)
    EXPECT_EQ(p, seen.front());
  EXPECT_EQ(Name("n5_0"), Name(std::string("n5_0")));
}

TEST(LinkChecks, KeepsOrderResultsAndDetails) {
  LinkChecks c;
  EXPECT_TRUE(c.empty());
  c.add(CheckKind::Aligned, true);
  c.add(CheckKind::InStack, true);
  c.add(CheckKind::Monotonic, false, "0x1000 is below 0x2000");
  c.add(CheckKind::NoCycle, false, "0x1000 was visited before");
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0].name, "aligned");
  EXPECT_TRUE(c[0].passed);
  EXPECT_TRUE(c[0].detail.empty());
  EXPECT_EQ(c[2].name, "monotonic");
  EXPECT_FALSE(c[2].passed);
  EXPECT_EQ(c[2].detail, "0x1000 is below 0x2000");
  EXPECT_EQ(c.back().name, "no_cycle");
  EXPECT_EQ(c.back().detail, "0x1000 was visited before");
  std::vector<std::string> names;
  for (const LinkCheck &check : c)
    names.emplace_back(check.name);
  EXPECT_EQ(names, (std::vector<std::string>{"aligned", "in_stack", "monotonic", "no_cycle"}));
}

TEST(LinkChecks, AnEmptyDetailIsNotStoredAndCapacityIsBounded) {
  LinkChecks c;
  c.add(CheckKind::Frame0, true, "");
  EXPECT_TRUE(c[0].detail.empty());
  for (size_t i = 0; i < 2 * LinkChecks::kCapacity; ++i)
    c.add(CheckKind::Readable, false, "detail " + std::to_string(i));
  EXPECT_EQ(c.size(), LinkChecks::kCapacity);
  EXPECT_EQ(c.back().detail, "detail " + std::to_string(LinkChecks::kCapacity - 2));
}

TEST(LinkChecks, EveryKindHasItsContractSpelling) {
  const std::vector<std::pair<CheckKind, std::string>> kinds = {
      {CheckKind::Aligned, "aligned"},
      {CheckKind::InStack, "in_stack"},
      {CheckKind::Monotonic, "monotonic"},
      {CheckKind::NoCycle, "no_cycle"},
      {CheckKind::Readable, "readable"},
      {CheckKind::ReturnInCode, "return_in_code"},
      {CheckKind::CallBeforeReturn, "call_before_return"},
      {CheckKind::Frame0, "frame0"},
      {CheckKind::FrameSize, "frame_size"},
      {CheckKind::SignalTrampoline, "signal_trampoline"},
      {CheckKind::SignalFrame, "signal_frame"},
  };
  for (const auto &[kind, spelling] : kinds)
    EXPECT_EQ(frameaudit::to_string(kind), spelling);
}

} // namespace
