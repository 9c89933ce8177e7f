#include "core/metrics_sink.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fauna {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

// A fresh file path under TEST_TMPDIR, unique to the running test.
std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string base = dir != nullptr ? dir : "/tmp";
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string path = base + "/" + info->test_suite_name() + "." + info->name() + "." + name;
  std::remove(path.c_str());
  return path;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void WriteAll(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

TEST(MetricsSink, WritesAppendsAndReadsBack) {
  const std::string path = TempPath("metrics.jsonl");
  {
    absl::StatusOr<MetricsSink> sink = MetricsSink::Open(path);
    ASSERT_TRUE(sink.ok()) << sink.status();
    EXPECT_EQ(sink->path(), path);
    ASSERT_TRUE(sink->Write({{"epoch", 1}, {"loss", 0.5}}).ok());
    // Flushed at once: the line is on disk while the sink is still open.
    EXPECT_EQ(ReadAll(path), "{\"epoch\":1,\"loss\":0.5}\n");
    ASSERT_TRUE(sink->Write({{"epoch", 2}, {"loss", 0.25}, {"tags", {"a", "b"}}}).ok());
  }
  {
    absl::StatusOr<MetricsSink> sink = MetricsSink::Open(path);
    ASSERT_TRUE(sink.ok()) << sink.status();
    ASSERT_TRUE(sink->Write({{"epoch", 3}, {"nested", {{"acc", 0.75}}}}).ok());
  }
  absl::StatusOr<std::vector<json>> records = ReadJsonLines(path);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 3u);
  EXPECT_EQ((*records)[0], json({{"epoch", 1}, {"loss", 0.5}}));
  EXPECT_EQ((*records)[1]["tags"], json({"a", "b"}));
  EXPECT_EQ((*records)[2]["nested"]["acc"], 0.75);
  const std::string text = ReadAll(path);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);  // One object per line.
}

TEST(MetricsSink, MovesKeepTheFileOpen) {
  const std::string path = TempPath("metrics.jsonl");
  absl::StatusOr<MetricsSink> opened = MetricsSink::Open(path);
  ASSERT_TRUE(opened.ok()) << opened.status();
  MetricsSink sink = std::move(opened).value();
  MetricsSink other = std::move(sink);
  EXPECT_TRUE(other.Write({{"epoch", 1}}).ok());
  EXPECT_EQ(sink.Write({{"epoch", 2}}).code(),  // NOLINT(bugprone-use-after-move): on purpose.
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadAll(path), "{\"epoch\":1}\n");
}

TEST(MetricsSink, RejectsARecordThatIsNotAnObject) {
  absl::StatusOr<MetricsSink> sink = MetricsSink::Open(TempPath("metrics.jsonl"));
  ASSERT_TRUE(sink.ok()) << sink.status();
  for (const json& record : {json(3), json::array({1, 2}), json("loss"), json(nullptr)}) {
    absl::Status status = sink->Write(record);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << record;
    EXPECT_THAT(std::string(status.message()), HasSubstr("must be a JSON object"));
  }
  EXPECT_EQ(ReadAll(sink->path()), "");
}

TEST(MetricsSink, RejectsInvalidUtf8) {
  absl::StatusOr<MetricsSink> sink = MetricsSink::Open(TempPath("metrics.jsonl"));
  ASSERT_TRUE(sink.ok()) << sink.status();
  EXPECT_EQ(sink->Write({{"name", "\xff\xfe"}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadAll(sink->path()), "");
}

TEST(MetricsSink, WritesNonFiniteNumbersAsStrings) {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::string path = TempPath("metrics.jsonl");
  {
    absl::StatusOr<MetricsSink> sink = MetricsSink::Open(path);
    ASSERT_TRUE(sink.ok()) << sink.status();
    ASSERT_TRUE(
        sink->Write({{"loss", nan}, {"grad", {inf, -inf, 1.5}}, {"val", {{"loss", -inf}}}}).ok());
  }
  EXPECT_EQ(ReadAll(path),
            "{\"grad\":[\"Infinity\",\"-Infinity\",1.5],\"loss\":\"NaN\","
            "\"val\":{\"loss\":\"-Infinity\"}}\n");
  absl::StatusOr<std::vector<json>> records = ReadJsonLines(path);
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_EQ((*records)[0]["loss"], "NaN");
}

TEST(ReplaceNonFinite, LeavesEverythingElseAlone) {
  const json value = {{"a", 1}, {"b", -2.5}, {"c", "NaN"}, {"d", nullptr}, {"e", {true, 3u}}};
  EXPECT_EQ(ReplaceNonFinite(value), value);
  EXPECT_EQ(ReplaceNonFinite(json(std::nan(""))), json("NaN"));
}

TEST(NumberFromJson, ReadsWhatReplaceNonFiniteWrites) {
  for (double value : {1.5, -0.0, std::numeric_limits<double>::infinity(),
                       -std::numeric_limits<double>::infinity()}) {
    absl::StatusOr<double> back = NumberFromJson(ReplaceNonFinite(json(value)));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, value);
  }
  absl::StatusOr<double> nan = NumberFromJson(ReplaceNonFinite(json(std::nan(""))));
  ASSERT_TRUE(nan.ok());
  EXPECT_TRUE(std::isnan(*nan));
  EXPECT_EQ(*NumberFromJson(json(7)), 7.0);
  EXPECT_THAT(std::string(NumberFromJson(json("abc")).status().message()),
              HasSubstr("\"abc\" is not a number"));
  EXPECT_FALSE(NumberFromJson(json(nullptr)).ok());
}

TEST(MetricsSink, MissingFolderIsNotFound) {
  const std::string folder = TempPath("no_such_folder");
  absl::StatusOr<MetricsSink> sink = MetricsSink::Open(folder + "/metrics.jsonl");
  ASSERT_FALSE(sink.ok());
  EXPECT_EQ(sink.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(sink.status().message()),
              HasSubstr("folder '" + folder + "' does not exist"));
}

// Paths that cannot be opened whoever runs the test (root included, as in CI): a folder that is a
// regular file, and a file that is a folder.
TEST(MetricsSink, UnopenablePathIsAClearErrorNamingIt) {
  const std::string file = TempPath("a_file");
  WriteAll(file, "not a folder");
  const std::string under_file = file + "/metrics.jsonl";
  absl::StatusOr<MetricsSink> sink = MetricsSink::Open(under_file);
  ASSERT_FALSE(sink.ok());
  EXPECT_EQ(sink.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(sink.status().message()),
              HasSubstr("cannot open metrics file '" + under_file + "': " +
                        std::strerror(ENOTDIR)));

  const std::string folder = TempPath("a_folder");
  ASSERT_EQ(::mkdir(folder.c_str(), 0755), 0);
  sink = MetricsSink::Open(folder);
  ::rmdir(folder.c_str());
  ASSERT_FALSE(sink.ok());
  EXPECT_EQ(sink.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(sink.status().message()),
              HasSubstr("cannot open metrics file '" + folder + "': " + std::strerror(EISDIR)));
}

TEST(ReadJsonLines, NamesTheLineOfAMalformedRecord) {
  const std::string path = TempPath("bad.jsonl");
  WriteAll(path, "{\"epoch\":1}\n\n{\"epoch\":2}\n{\"epoch\":3,\n{\"epoch\":4}\n");
  absl::StatusOr<std::vector<json>> records = ReadJsonLines(path);
  ASSERT_FALSE(records.ok());
  EXPECT_EQ(records.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(records.status().message()), HasSubstr(path + ":4: malformed JSON"));
}

TEST(ReadJsonLines, SkipsBlankLinesAndReadsALastLineWithoutNewline) {
  const std::string path = TempPath("ok.jsonl");
  WriteAll(path, "{\"a\":1}\r\n  \n{\"a\":2}");
  absl::StatusOr<std::vector<json>> records = ReadJsonLines(path);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[1]["a"], 2);
}

TEST(ReadJsonLines, MissingFileIsNotFound) {
  absl::StatusOr<std::vector<json>> records = ReadJsonLines(TempPath("absent.jsonl"));
  EXPECT_EQ(records.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace fauna
