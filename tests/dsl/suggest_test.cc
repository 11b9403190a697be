#include "dsl/suggest.h"

#include <gtest/gtest.h>

namespace flowline {
namespace {

const std::vector<std::string> kRoots = {"inputs", "steps", "vars", "error", "session", "run"};

TEST(ClosestMatch, FindsATransposition) {
  EXPECT_EQ(closest_match("lenght", {"length", "lower", "upper"}), "length");
  EXPECT_EQ(closest_match("imputs", kRoots), "inputs");
}

TEST(ClosestMatch, FindsInsertionsAndDeletions) {
  EXPECT_EQ(closest_match("step", kRoots), "steps");
  EXPECT_EQ(closest_match("inputss", kRoots), "inputs");
  EXPECT_EQ(closest_match("sesion", kRoots), "session");
}

TEST(ClosestMatch, IgnoresCaseWhenMeasuring) {
  EXPECT_EQ(closest_match("Inputs", kRoots), "inputs");
  EXPECT_EQ(closest_match("STEPS", kRoots), "steps");
}

TEST(ClosestMatch, BreaksTiesByCaseThenByOrder) {
  // Both are one edit away ignoring case; the one matching the case wins.
  EXPECT_EQ(closest_match("Limit", {"limits", "Limits"}), "Limits");
  EXPECT_EQ(closest_match("limit", {"limits", "Limits"}), "limits");
  // Same distance, same case: the first listed wins.
  EXPECT_EQ(closest_match("cat", {"bat", "hat"}), "bat");
}

TEST(ClosestMatch, PrefersTheNearestCandidate) {
  EXPECT_EQ(closest_match("to_nmber", {"to_int", "to_number", "to_string"}), "to_number");
  EXPECT_EQ(closest_match("timeout", {"timeouts", "timeout_ms", "timeout"}), "timeout");
}

TEST(ClosestMatch, RejectsFarWords) {
  EXPECT_EQ(closest_match("banana", kRoots), std::nullopt);
  // Two edits in a six-letter word is the most allowed; three is too many.
  EXPECT_EQ(closest_match("lnegth", {"length"}), "length");
  EXPECT_EQ(closest_match("lxnxtx", {"length"}), std::nullopt);
}

TEST(ClosestMatch, NeverSuggestsACompleteRewrite) {
  EXPECT_EQ(closest_match("x", {"y"}), std::nullopt);
  EXPECT_EQ(closest_match("ab", {"cd"}), std::nullopt);
  EXPECT_EQ(closest_match("a", {"ab"}), "ab");
}

TEST(ClosestMatch, ShortWordsAllowOneEdit) {
  EXPECT_EQ(closest_match("id", {"ids"}), "ids");
  EXPECT_EQ(closest_match("id", {"idxx"}), std::nullopt);
}

TEST(ClosestMatch, CountsCodePointsNotBytes) {
  // 'é' is two bytes but one edit.
  EXPECT_EQ(closest_match("café", {"cafe"}), "cafe");
  EXPECT_EQ(closest_match("naïve", {"naive"}), "naive");
}

TEST(ClosestMatch, HandlesEmptyInputs) {
  EXPECT_EQ(closest_match("anything", {}), std::nullopt);
  EXPECT_EQ(closest_match("", {"a"}), std::nullopt);
}

TEST(ClosestMatch, GivesUpOnHugeWords) {
  std::string long_word(256, 'a');
  EXPECT_EQ(closest_match(long_word, {long_word + "b"}), long_word + "b");
  std::string huge(100000, 'a');
  EXPECT_EQ(closest_match(huge, kRoots), std::nullopt);
  EXPECT_EQ(closest_match(huge, {huge + "b"}), std::nullopt);
  EXPECT_EQ(closest_match("aaaa", {huge}), std::nullopt);
}

TEST(DidYouMean, FormatsTheSuffix) {
  EXPECT_EQ(did_you_mean("lenght", {"length"}), " (did you mean 'length'?)");
  EXPECT_EQ(did_you_mean("zzz", {"length"}), "");
}

}  // namespace
}  // namespace flowline
