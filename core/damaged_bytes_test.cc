// DamagedCopies: the cuts and changed bytes it promises, the same on every run.
#include "core/damaged_bytes.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace fauna {
namespace {

std::string Valid(size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>('a' + i % 26);
  return bytes;
}

// Positions where `copy` differs from `valid` (same length).
std::set<size_t> Differences(const std::string& valid, const std::string& copy) {
  std::set<size_t> at;
  for (size_t i = 0; i < valid.size(); ++i) {
    if (valid[i] != copy[i]) at.insert(i);
  }
  return at;
}

TEST(DamagedCopies, CutsAtEveryShortLengthThenSpreadAndAtTheEnd) {
  const std::string valid = Valid(1000);
  DamageOptions options;
  options.every_length_below = 50;
  options.spread_cuts = 10;
  options.changes = 0;
  options.closing = "END";
  std::set<size_t> lengths;
  for (const DamagedCopy& copy : DamagedCopies(valid, options)) {
    ASSERT_GE(copy.bytes.size(), 3u);
    const size_t length = copy.bytes.size() - 3;
    EXPECT_EQ(copy.bytes, valid.substr(0, length) + "END") << copy.description;
    EXPECT_TRUE(lengths.insert(length).second) << "cut twice at " << length;
  }
  for (size_t length = 0; length < 50; ++length) EXPECT_EQ(lengths.count(length), 1u) << length;
  for (size_t length = 984; length < 1000; ++length) EXPECT_EQ(lengths.count(length), 1u) << length;
  EXPECT_EQ(lengths.count(1000), 0u);  // The whole file is no cut.
  EXPECT_EQ(lengths.size(), 50u + 10u + 16u);
}

TEST(DamagedCopies, ShortFilesAreCutAtEveryLength) {
  DamageOptions options;
  options.changes = 0;
  EXPECT_EQ(DamagedCopies(Valid(20), options).size(), 20u);
  EXPECT_TRUE(DamagedCopies("", options).empty());
}

TEST(DamagedCopies, ChangesStayInTheirRangeAndCount) {
  const std::string valid = Valid(500);
  DamageOptions options;
  options.cut = false;
  options.changes = 300;
  options.max_changes = 3;
  options.begin = 100;
  options.end = 200;
  const std::vector<DamagedCopy> copies = DamagedCopies(valid, options);
  ASSERT_EQ(copies.size(), 300u);
  int changed = 0;
  for (size_t i = 0; i < copies.size(); ++i) {
    ASSERT_EQ(copies[i].bytes.size(), valid.size());
    const std::set<size_t> at = Differences(valid, copies[i].bytes);
    EXPECT_LE(at.size(), 3u) << copies[i].description;
    for (size_t position : at) {
      EXPECT_GE(position, 100u);
      EXPECT_LT(position, 200u);
    }
    changed += !at.empty();
  }
  EXPECT_GT(changed, 280);  // Setting a byte to the value it had changes nothing, rarely.
}

TEST(DamagedCopies, SameSeedSameCopiesOtherSeedOtherChanges) {
  const std::string valid = Valid(300);
  DamageOptions options;
  options.alphabet = "0123456789";
  const std::vector<DamagedCopy> a = DamagedCopies(valid, options);
  const std::vector<DamagedCopy> b = DamagedCopies(valid, options);
  options.seed = 2;
  const std::vector<DamagedCopy> c = DamagedCopies(valid, options);
  ASSERT_EQ(a.size(), b.size());
  ASSERT_EQ(a.size(), c.size());
  int same_as_other_seed = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].bytes, b[i].bytes);
    EXPECT_EQ(a[i].description, b[i].description);
    same_as_other_seed += a[i].bytes == c[i].bytes;
  }
  EXPECT_LT(same_as_other_seed, static_cast<int>(a.size()) - options.changes / 2);
}

TEST(DamagedCopies, AlphabetBytesAreWrittenIn) {
  const std::string valid(400, 'x');
  DamageOptions options;
  options.alphabet = "#";
  options.changes = 500;
  bool seen = false;
  for (const DamagedCopy& copy : DamagedCopies(valid, options)) {
    seen = seen || copy.bytes.find('#') != std::string::npos;
  }
  EXPECT_TRUE(seen);
}

}  // namespace
}  // namespace fauna
