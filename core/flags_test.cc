#include "core/flags.h"

#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gflags/gflags.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

DEFINE_int32(flags_test_count, 7, "A flag of this test.");
DEFINE_string(flags_test_name, "none", "Another flag of this test.");

namespace fauna {
namespace {

using ::testing::HasSubstr;

gflags::CommandLineFlagInfo Flag(std::string name, std::string type, std::string default_value,
                                 std::string filename, std::string description = "Does things.") {
  gflags::CommandLineFlagInfo flag;
  flag.name = std::move(name);
  flag.type = std::move(type);
  flag.description = std::move(description);
  flag.default_value = std::move(default_value);
  flag.current_value = flag.default_value;
  flag.filename = std::move(filename);
  flag.has_validator_fn = false;
  flag.is_default = true;
  flag.flag_ptr = nullptr;
  return flag;
}

gflags::CommandLineFlagInfo SetFlag(gflags::CommandLineFlagInfo flag, std::string value) {
  flag.current_value = std::move(value);
  flag.is_default = false;
  return flag;
}

TEST(JoinArgvTest, JoinsTheArgumentsWithSpaces) {
  char a0[] = "bin/train", a1[] = "--lr=1e-3", a2[] = "--name=x";
  char* argv[] = {a0, a1, a2};
  EXPECT_EQ(JoinArgv(3, argv), "bin/train --lr=1e-3 --name=x");
  EXPECT_EQ(JoinArgv(1, argv), "bin/train");
  EXPECT_EQ(JoinArgv(0, argv), "");
}

TEST(IsProjectFlagFileTest, WorkspaceFilesAreTheProjects) {
  EXPECT_TRUE(IsProjectFlagFile("core/runtime.cc"));
  EXPECT_TRUE(IsProjectFlagFile("train/train_main.cc"));
  EXPECT_TRUE(IsProjectFlagFile("bench/loader_bench.cc"));
  EXPECT_TRUE(IsProjectFlagFile("robustness/some_new_package/main.cc"));
  EXPECT_TRUE(IsProjectFlagFile("bazel-out/k8-opt/bin/core/generated.cc"));
  EXPECT_TRUE(IsProjectFlagFile("main.cc"));
}

TEST(IsProjectFlagFileTest, LibTorchGlogAndGflagsFilesAreNot) {
  // As Debian's LibTorch 1.13 reports them.
  EXPECT_FALSE(IsProjectFlagFile("./caffe2/utils/threadpool/ThreadPool.cc"));
  EXPECT_FALSE(IsProjectFlagFile("./c10/util/Logging.cpp"));
  EXPECT_FALSE(IsProjectFlagFile("./torch/csrc/jit/runtime/profiling_graph_executor_impl.cpp"));
  EXPECT_FALSE(IsProjectFlagFile("./src/logging.cc"));  // glog.
  EXPECT_FALSE(IsProjectFlagFile("/build/gflags-QLcAqI/gflags-2.2.2/src/gflags_reporting.cc"));
  // Other builds: absolute paths, paths relative to a build folder, plain relative paths.
  EXPECT_FALSE(IsProjectFlagFile("/pytorch/c10/core/TensorImpl.cpp"));
  EXPECT_FALSE(IsProjectFlagFile("../torch/csrc/lazy/core/config.cpp"));
  EXPECT_FALSE(IsProjectFlagFile("c10/core/CPUAllocator.cpp"));
  EXPECT_FALSE(IsProjectFlagFile("caffe2/core/init.cc"));
  EXPECT_FALSE(IsProjectFlagFile("torch/csrc/jit/runtime/interpreter.cpp"));
  EXPECT_FALSE(IsProjectFlagFile("src/vlog_is_on.cc"));
  // Bazel's external repositories.
  EXPECT_FALSE(IsProjectFlagFile("external/libtorch/foo.cc"));
  EXPECT_FALSE(IsProjectFlagFile("bazel-out/k8-opt/bin/external/libtorch/foo.cc"));
  EXPECT_FALSE(IsProjectFlagFile(""));
}

TEST(FlagsNamedOnCommandLineTest, FindsEverySpellingUpToDoubleDash) {
  const std::set<std::string> known = {"name", "lr", "resume", "epochs", "flagfile", "nothing"};
  const char* argv[] = {"prog",      "--name=x",   "-lr",       "0.1",     "--noresume",
                        "--nothing", "--flagfile", "recipe",    "--bogus", "positional",
                        "-",         "--",         "--epochs=3"};
  EXPECT_EQ(FlagsNamedOnCommandLine(std::size(argv), argv, known),
            (std::set<std::string>{"name", "lr", "resume", "nothing", "flagfile"}));
}

TEST(FlagsNamedOnCommandLineTest, SkipsProgramName) {
  const char* argv[] = {"--name"};
  EXPECT_TRUE(FlagsNamedOnCommandLine(1, argv, {"name"}).empty());
}

TEST(FlagsHelpTest, ShowsProjectFlagsByFileWithTheMainFileFirst) {
  const std::vector<gflags::CommandLineFlagInfo> flags = {
      Flag("caffe2_log_level", "int32", "2", "./c10/util/Logging.cpp"),
      Flag("device", "string", "auto", "core/runtime.cc", "auto|cpu|cuda|cuda:N."),
      Flag("logtostderr", "bool", "false", "./src/logging.cc"),
      Flag("flagfile", "string", "", "/build/gflags-2.2.2/src/gflags.cc"),
      Flag("count", "int64", "300", "tools/export_synthetic.cc", "Number of images."),
      Flag("out", "string", "", "tools/export_synthetic.cc", "Folder to write into."),
  };
  FlagsHelpContext context;
  context.program = "export_synthetic";
  context.usage = "Writes the synthetic set.";
  EXPECT_EQ(FlagsHelp(flags, {}, context),
            "export_synthetic: Writes the synthetic set.\n"
            "\n"
            "Flags from tools/export_synthetic.cc:\n"
            "  --count (int64, default 300)\n"
            "      Number of images.\n"
            "  --out (string, default \"\")\n"
            "      Folder to write into.\n"
            "\n"
            "Flags from core/runtime.cc:\n"
            "  --device (string, default \"auto\")\n"
            "      auto|cpu|cuda|cuda:N.\n"
            "\n"
            "--helpfull lists every flag, those of LibTorch, glog and gflags (--flagfile, ...) "
            "too.\n");
}

TEST(FlagsHelpTest, GroupsComeFirstInTheirOrderAndUnknownNamesAreSkipped) {
  const std::vector<gflags::CommandLineFlagInfo> flags = {
      Flag("seed", "uint64", "0", "core/runtime.cc"),
      Flag("caffe2_log_level", "int32", "2", "./c10/util/Logging.cpp"),
      Flag("data", "string", "synthetic", "train/train_main.cc"),
      Flag("lr", "double", "0.001", "train/train_main.cc"),
      Flag("name", "string", "train", "train/train_main.cc"),
      Flag("resume", "bool", "false", "train/train_main.cc"),
  };
  FlagsHelpContext context;
  context.program = "train";
  context.usage = "Trains.";
  const std::string help =
      FlagsHelp(flags, {{"What the run is", {"resume", "name", "no_such_flag"}},
                        {"Empty", {"no_such_flag"}},
                        {"Optimisation", {"lr"}}},
                context);
  EXPECT_EQ(help,
            "train: Trains.\n"
            "\n"
            "What the run is:\n"
            "  --resume (bool, default false)\n"
            "      Does things.\n"
            "  --name (string, default \"train\")\n"
            "      Does things.\n"
            "\n"
            "Optimisation:\n"
            "  --lr (double, default 0.001)\n"
            "      Does things.\n"
            "\n"
            "Flags from train/train_main.cc:\n"
            "  --data (string, default \"synthetic\")\n"
            "      Does things.\n"
            "\n"
            "Flags from core/runtime.cc:\n"
            "  --seed (uint64, default 0)\n"
            "      Does things.\n"
            "\n"
            "--helpfull lists every flag, those of LibTorch, glog and gflags (--flagfile, ...) "
            "too.\n");
}

TEST(FlagsHelpTest, UsageThatNamesTheProgramComesAlone) {
  FlagsHelpContext context;
  context.program = "plot_run";
  context.usage = "plot_run <run folder>: draws curves.";
  EXPECT_THAT(FlagsHelp({}, {}, context), ::testing::StartsWith("plot_run <run folder>: draws"));
  context.usage = "plot_runs everything.";
  EXPECT_THAT(FlagsHelp({}, {}, context), ::testing::StartsWith("plot_run: plot_runs everything."));
}

TEST(FlagsHelpTest, AGroupMayNameAForeignFlag) {
  const std::vector<gflags::CommandLineFlagInfo> flags = {
      Flag("caffe2_log_level", "int32", "2", "./c10/util/Logging.cpp")};
  EXPECT_THAT(FlagsHelp(flags, {{"Logging", {"caffe2_log_level"}}}, FlagsHelpContext()),
              HasSubstr("Logging:\n  --caffe2_log_level (int32, default 2)\n"));
}

TEST(FlagsHelpTest, ShowsTheValuesInForceAndWhereTheyCameFrom) {
  const std::vector<gflags::CommandLineFlagInfo> flags = {
      SetFlag(Flag("name", "string", "train", "train/train_main.cc"), "vgg16_best"),
      SetFlag(Flag("epochs", "int64", "10", "train/train_main.cc"), "3"),
      SetFlag(Flag("lr", "double", "0.001", "train/train_main.cc"), "0.001"),
      Flag("patience", "int64", "0", "train/train_main.cc"),
  };
  FlagsHelpContext context;
  context.program = "train";
  context.on_command_line = {"epochs"};
  context.flagfile_read = true;
  const std::string help = FlagsHelp(flags, {}, context);
  EXPECT_THAT(help, HasSubstr("--name (string, default \"train\"; now \"vgg16_best\", from "
                              "--flagfile)\n"));
  EXPECT_THAT(help, HasSubstr("--epochs (int64, default 10; now 3, from the command line)\n"));
  // Set, even if to the default.
  EXPECT_THAT(help, HasSubstr("--lr (double, default 0.001; now 0.001, from --flagfile)\n"));
  EXPECT_THAT(help, HasSubstr("--patience (int64, default 0)\n"));

  context.flagfile_read = false;  // Set some other way (--fromenv, the program): no origin.
  EXPECT_THAT(FlagsHelp(flags, {}, context),
              HasSubstr("--name (string, default \"train\"; now \"vgg16_best\")\n"));
}

TEST(FlagsHelpTest, ShowsDoublesInTheirShortestForm) {
  const std::vector<gflags::CommandLineFlagInfo> flags = {
      SetFlag(Flag("lr", "double", "0.001", "train/train_main.cc"), "0.10000000000000001"),
      SetFlag(Flag("decay", "double", "0", "train/train_main.cc"), "9.9999999999999995e-07"),
      SetFlag(Flag("third", "double", "1", "train/train_main.cc"), "0.33333333333333331"),
  };
  const std::string help = FlagsHelp(flags, {}, FlagsHelpContext());
  EXPECT_THAT(help, HasSubstr("--lr (double, default 0.001; now 0.1)\n"));
  EXPECT_THAT(help, HasSubstr("--decay (double, default 0; now 1e-06)\n"));
  EXPECT_THAT(help, HasSubstr("--third (double, default 1; now 0.3333333333333333)\n"));
}

TEST(FlagsHelpTest, WrapsDescriptionsAtOneHundredColumns) {
  std::string description;
  for (int i = 0; i < 60; ++i) description += "word" + std::to_string(i) + " ";
  description += "\nAfter a newline.";
  const std::vector<gflags::CommandLineFlagInfo> flags = {
      Flag("long", "bool", "true", "core/x.cc", description)};
  const std::string help = FlagsHelp(flags, {}, FlagsHelpContext());
  std::istringstream lines(help);
  std::string line;
  std::string words;
  int description_lines = 0;
  while (std::getline(lines, line)) {
    EXPECT_LE(line.size(), 100u) << line;
    if (line.rfind("      ", 0) == 0) {
      ++description_lines;
      words += line.substr(6) + " ";
    }
  }
  EXPECT_GE(description_lines, 5);
  EXPECT_THAT(words, HasSubstr("word58 word59 "));
  EXPECT_THAT(help, HasSubstr("\n      After a newline.\n"));
}

TEST(ParseFlagsTest, ParsesFlagsAndLeavesTheArguments) {
  const char* args[] = {"flags_test", "--flags_test_count=3", "positional", "--",
                        "--flags_test_name=after"};
  std::vector<char*> argv;
  for (const char* arg : args) argv.push_back(const_cast<char*>(arg));
  int argc = static_cast<int>(argv.size());
  char** argv_ptr = argv.data();
  ParseFlags(&argc, &argv_ptr, "Tests flags.");
  EXPECT_EQ(FLAGS_flags_test_count, 3);
  EXPECT_EQ(FLAGS_flags_test_name, "none");  // After "--": an argument.
  EXPECT_EQ(gflags::ProgramUsage(), std::string("Tests flags."));
  ASSERT_EQ(argc, 3);
  EXPECT_EQ(argv_ptr[0], std::string("flags_test"));
  // gflags puts the arguments after "--" first.
  EXPECT_THAT(std::vector<std::string>(argv_ptr + 1, argv_ptr + argc),
              ::testing::UnorderedElementsAre("positional", "--flags_test_name=after"));
}

void ParseArgs(std::vector<const char*> args) {
  std::vector<char*> argv;
  for (const char* arg : args) argv.push_back(const_cast<char*>(arg));
  int argc = static_cast<int>(argv.size());
  char** argv_ptr = argv.data();
  ParseFlags(&argc, &argv_ptr, "Tests flags.", {{"Test", {"flags_test_name"}}});
}

TEST(ParseFlagsDeathTest, HelpExitsWithZero) {
  EXPECT_EXIT(ParseArgs({"flags_test", "--help"}), ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(ParseArgs({"flags_test", "-help"}), ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(ParseArgs({"flags_test", "-h"}), ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(ParseArgs({"flags_test", "--flags_test_count=2", "--help"}),
              ::testing::ExitedWithCode(0), "");
}

TEST(ParseFlagsDeathTest, OtherHelpFlagsAreGflags) {
  // gflags exits with 1 after its listings and with 0 after --version.
  EXPECT_EXIT(ParseArgs({"flags_test", "--helpfull"}), ::testing::ExitedWithCode(1), "");
  EXPECT_EXIT(ParseArgs({"flags_test", "--help", "--helpfull"}), ::testing::ExitedWithCode(1),
              "");
  EXPECT_EXIT(ParseArgs({"flags_test", "--version"}), ::testing::ExitedWithCode(0), "");
}

TEST(ParseFlagsDeathTest, UnknownFlagsAreErrors) {
  EXPECT_EXIT(ParseArgs({"flags_test", "--no_such_flag"}), ::testing::ExitedWithCode(1),
              "unknown command line flag 'no_such_flag'");
}

}  // namespace
}  // namespace fauna
