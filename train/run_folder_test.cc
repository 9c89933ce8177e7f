#include "train/run_folder.h"

#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/test_tmp.h"

namespace fauna {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

// config.json as train/train_main.cc writes it for a 3-class synthetic run (fields it writes that
// ReadRunFolder does not read are left out).
json SyntheticConfig() {
  return json::parse(R"({
    "model": "vgg16", "width": 0.125, "dropout": -1.0, "activation": "relu",
    "seed": 18446744073709551615, "scale": "ci",
    "data": {"data": "synthetic", "kind": "synthetic", "image_size": 32, "split": "70/20/10",
             "augment": "hflip", "normalization": "unit", "classes": ["cat", "dog", "wild"],
             "synthetic": {"classes": 3, "count": 240, "difficulty": 0.25}}
  })");
}

// A run folder `name` holding `config` and, when `weights`, a model.safetensors (its contents are
// not read here).
std::string WriteRun(const std::string& name, const json& config, bool weights = true) {
  const std::string path = TestTempPath(name);
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
  std::ofstream(path + "/config.json") << config.dump(2);
  if (weights) std::ofstream(path + "/model.safetensors") << "weights";
  return path;
}

std::string ErrorOf(const std::string& path) {
  absl::StatusOr<RunFolder> run = ReadRunFolder(path);
  EXPECT_FALSE(run.ok());
  return std::string(run.status().message());
}

TEST(RunFolder, ReadsTheModelAndTheDataOfASyntheticRun) {
  const std::string path = WriteRun("synthetic_run", SyntheticConfig());
  absl::StatusOr<RunFolder> run = ReadRunFolder(path);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->model, "vgg16");
  EXPECT_EQ(run->model_config.num_classes, 3);
  EXPECT_DOUBLE_EQ(run->model_config.width, 0.125);
  EXPECT_FALSE(run->model_config.dropout.has_value());  // -1: the architecture's default.
  EXPECT_EQ(run->model_config.activation, "relu");
  EXPECT_EQ(run->model_config.image_size, 32);
  EXPECT_EQ(run->weights, path + "/model.safetensors");
  EXPECT_EQ(run->class_names, (std::vector<std::string>{"cat", "dog", "wild"}));
  EXPECT_EQ(run->seed, 18446744073709551615u);  // Exact, not through a double.
  EXPECT_EQ(run->data_kind, "synthetic");
  EXPECT_EQ(run->data.data, "synthetic");
  EXPECT_EQ(run->data.image_size, 32);
  EXPECT_EQ(run->data.split, "70/20/10");
  EXPECT_EQ(run->data.normalization, "unit");
  EXPECT_EQ(run->data.augment, "");  // The images as they are.
  EXPECT_EQ(run->data.seed, run->seed);
  EXPECT_EQ(run->data.synthetic_classes, 3);
  EXPECT_EQ(run->data.synthetic_count, 240);
  EXPECT_DOUBLE_EQ(run->data.synthetic_difficulty, 0.25);

  json config = SyntheticConfig();
  config["dropout"] = 0.1;
  absl::StatusOr<RunFolder> with_dropout = ReadRunFolder(WriteRun("dropout_run", config));
  ASSERT_TRUE(with_dropout.ok()) << with_dropout.status();
  EXPECT_DOUBLE_EQ(with_dropout->model_config.dropout.value_or(-1), 0.1);
}

TEST(RunFolder, FileDataIsReopenedFromTheRunsSplit) {
  json config = SyntheticConfig();
  config["data"]["data"] = "/data/afhq";
  config["data"]["kind"] = "folder";
  const std::string path = WriteRun("folder_run", config);
  EXPECT_THAT(ErrorOf(path),
              HasSubstr("has no split.csv, the split of its folder data /data/afhq"));
  std::ofstream(path + "/split.csv") << "path,label,split\n";
  absl::StatusOr<RunFolder> run = ReadRunFolder(path);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->data.data, path + "/split.csv");
  EXPECT_EQ(run->original_data, "/data/afhq");
  EXPECT_EQ(run->data.data_root, "");  // The split names its root.
}

TEST(RunFolder, WhatIsMissingOrWrongIsNamed) {
  EXPECT_THAT(ErrorOf(TestTempPath("no_such_run")), HasSubstr("does not exist"));
  const std::string empty = TestTempPath("empty_run");
  std::filesystem::create_directories(empty);
  EXPECT_THAT(ErrorOf(empty), HasSubstr("has no config.json: not a run folder"));
  EXPECT_THAT(ErrorOf(WriteRun("unfinished_run", SyntheticConfig(), /*weights=*/false)),
              HasSubstr("has no model.safetensors: the trainer writes the best weights when a run "
                        "ends"));

  const std::string broken = WriteRun("broken_run", SyntheticConfig());
  std::ofstream(broken + "/config.json") << "{\"model\": ";
  EXPECT_THAT(ErrorOf(broken), HasSubstr("config.json is not a JSON object"));

  const auto error_with = [](json config) {
    return ErrorOf(WriteRun("bad_field_run", config));
  };
  json config = SyntheticConfig();
  config.erase("width");
  EXPECT_THAT(error_with(config), HasSubstr("config.json: width is missing"));
  config = SyntheticConfig();
  config["data"]["image_size"] = "32";
  EXPECT_THAT(error_with(config), HasSubstr("data.image_size is \"32\", not a number"));
  config = SyntheticConfig();
  config["data"]["image_size"] = 31.5;
  EXPECT_THAT(error_with(config), HasSubstr("data.image_size is 31.5, not a whole number"));
  config = SyntheticConfig();
  config["seed"] = -1;
  EXPECT_THAT(error_with(config), HasSubstr("seed is -1, not a whole number >= 0"));
  config = SyntheticConfig();
  config["data"]["synthetic"].erase("count");
  EXPECT_THAT(error_with(config), HasSubstr("data.synthetic.count is missing"));
  config = SyntheticConfig();
  config["data"]["classes"] = json::array({"cat"});
  EXPECT_THAT(error_with(config), HasSubstr("fewer than two classes"));
  config = SyntheticConfig();
  config["data"]["kind"] = "hdf5";
  EXPECT_THAT(error_with(config), HasSubstr("data.kind is \"hdf5\", not synthetic"));
  config = SyntheticConfig();
  config["model"] = "alexnet";
  EXPECT_THAT(error_with(config), HasSubstr("unknown model \"alexnet\""));
}

}  // namespace
}  // namespace fauna
