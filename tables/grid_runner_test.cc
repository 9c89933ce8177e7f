#include "tables/grid_runner.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/test_tmp.h"

namespace fauna {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Read(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

void Write(const std::string& path, const std::string& text) {
  std::ofstream file(path);
  file << text;
}

// A trainer that writes results.json into --run_dir, unless the folder holds "fail_once": then it
// leaves a checkpoint and fails (a killed run), once. It records whether it got --resume.
std::string FakeTrainer() {
  const std::string path = TestTempPath("fake_trainer.sh");
  Write(path,
        "#!/bin/sh\n"
        "dir=''; resume=false\n"
        "for a in \"$@\"; do case \"$a\" in --run_dir=*) dir=\"${a#--run_dir=}\";; "
        "--resume) resume=true;; esac; done\n"
        "echo \"args: $*\"\n"
        "if [ -f \"$dir/fail_once\" ]; then rm \"$dir/fail_once\"; touch \"$dir/checkpoint.pt\"; "
        "exit 3; fi\n"
        "echo \"{\\\"test_acc\\\": 0.5, \\\"resumed\\\": $resume}\" > \"$dir/results.json\"\n");
  std::filesystem::permissions(path, std::filesystem::perms::owner_all);
  return path;
}

GridRuns TwoCellsOneStep() {
  GridRuns runs;
  GridRun step;
  step.label = step.dir = "pretrain";
  step.trainer = "train";
  step.flags = {"--synthetic_classes=11"};
  runs.steps.push_back(step);
  for (const char* lr : {"0.1", "0.01"}) {
    GridRun cell;
    cell.label = std::string("lr=") + lr;
    cell.dir = cell.label;
    cell.trainer = "train";
    cell.recipe = "demo";
    cell.flags = {"--data={data}", "--init={step:pretrain}/model.safetensors",
                  std::string("--lr=") + lr};
    runs.cells.push_back(cell);
  }
  return runs;
}

GridRunOptions Options(const std::string& out) {
  GridRunOptions options;
  options.out = out;
  options.scale = "ci";
  options.data = "synthetic";
  options.seeds = {0, 1};
  options.trainers["train"] = FakeTrainer();
  options.recipes_dir = TestTempPath("recipes");
  std::filesystem::create_directories(options.recipes_dir);
  Write(options.recipes_dir + "/demo.flags", "--epochs=1\n");
  options.passthrough = {"--workers=1"};
  options.threads = 1;
  return options;
}

TEST(PlanGrid, CommandsOfStepsAndCells) {
  const GridRunOptions options = Options("/t");
  absl::StatusOr<GridPlan> plan = PlanGrid(TwoCellsOneStep(), options);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->steps.size(), 2u);  // One per seed.
  ASSERT_EQ(plan->cells.size(), 4u);  // Cell-major: (lr=0.1, 0), (lr=0.1, 1), (lr=0.01, 0), ...
  EXPECT_EQ(plan->steps[1].dir, "/t/pretrain/seed_1");
  EXPECT_TRUE(plan->steps[1].is_step);
  EXPECT_THAT(plan->steps[1].argv,
              ElementsAre(options.trainers.at("train"), "--scale=ci", "--seed=1", "--threads=1",
                          "--progress=false", "--synthetic_classes=11",
                          "--run_dir=/t/pretrain/seed_1"));
  EXPECT_EQ(plan->cells[1].label, "lr=0.1, seed 1");
  EXPECT_THAT(plan->cells[1].argv,
              ElementsAre(options.trainers.at("train"),
                          "--flagfile=" + options.recipes_dir + "/demo.flags", "--scale=ci",
                          "--seed=1", "--threads=1", "--progress=false", "--data=synthetic",
                          "--init=/t/pretrain/seed_1/model.safetensors", "--lr=0.1",
                          "--workers=1", "--run_dir=/t/lr=0.1/seed_1"));
}

TEST(PlanGrid, ShardsSplitCellsAndKeepTheStepsTheyNeed) {
  GridRunOptions options = Options("/t");
  options.shard = Shard{1, 3};  // Positions 1: (lr=0.1, seed 1); 4: nothing (4 cells).
  absl::StatusOr<GridPlan> plan = PlanGrid(TwoCellsOneStep(), options);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->cells.size(), 1u);
  EXPECT_EQ(plan->cells[0].label, "lr=0.1, seed 1");
  ASSERT_EQ(plan->steps.size(), 1u);
  EXPECT_EQ(plan->steps[0].seed, 1u);
}

TEST(PlanGrid, MissingBinaryRecipeOrPlaceholderIsAnError) {
  GridRunOptions options = Options("/t");
  GridRuns runs = TwoCellsOneStep();
  runs.cells[0].trainer = "svm_grid";
  EXPECT_THAT(PlanGrid(runs, options).status().message(),
              HasSubstr("no binary for trainer \"svm_grid\" (//models/heads:svm_grid)"));
  runs = TwoCellsOneStep();
  runs.cells[0].trainer = "nope";
  EXPECT_THAT(PlanGrid(runs, options).status().message(), HasSubstr("no trainer \"nope\""));
  runs = TwoCellsOneStep();
  runs.cells[0].recipe = "missing";
  EXPECT_THAT(PlanGrid(runs, options).status().message(), HasSubstr("no recipe"));
  runs = TwoCellsOneStep();
  runs.cells[0].flags.push_back("--x={step:nope}");
  EXPECT_THAT(PlanGrid(runs, options).status().message(),
              HasSubstr("run \"lr=0.1\": \"--x={step:nope}\": unknown placeholder"));
}

TEST(ExecuteRun, RunsOnceSkipsWhenFinishedAndResumesAKilledRun) {
  const std::string out = TestTempPath("execute");
  absl::StatusOr<GridPlan> plan = PlanGrid(TwoCellsOneStep(), Options(out));
  ASSERT_TRUE(plan.ok()) << plan.status();
  const PlannedRun& run = plan->cells[0];
  std::filesystem::create_directories(run.dir);
  Write(run.dir + "/fail_once", "");

  absl::StatusOr<RunOutcome> failed = ExecuteRun(run, /*wait_for_lock=*/false);
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_EQ(failed->kind, RunOutcome::Kind::kFailed);
  EXPECT_THAT(failed->message, HasSubstr("exit code 3"));
  EXPECT_EQ(StateOfRun(run.dir, run.kind), RunState::kResumable);

  absl::StatusOr<RunOutcome> resumed = ExecuteRun(run, /*wait_for_lock=*/false);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->kind, RunOutcome::Kind::kFinished);
  EXPECT_EQ(resumed->message, "resumed");
  EXPECT_THAT(Read(run.dir + "/results.json"), HasSubstr("\"resumed\": true"));
  EXPECT_THAT(Read(run.dir + "/log.txt"), HasSubstr("resuming: "));

  absl::StatusOr<RunOutcome> again = ExecuteRun(run, /*wait_for_lock=*/false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->kind, RunOutcome::Kind::kAlreadyFinished);
  const nlohmann::json record = nlohmann::json::parse(Read(run.dir + "/run.json"));
  EXPECT_EQ(record["attempts"], 2);
  EXPECT_EQ(record["last_attempt"]["ended"], "finished");
  EXPECT_GT(RunSeconds(run.dir), 0);
  EXPECT_EQ(RunSeconds(out + "/nothing"), 0);
}

TEST(ExecuteRun, ALockedRunIsBusyOrAwaited) {
  const std::string out = TestTempPath("locked");
  absl::StatusOr<GridPlan> plan = PlanGrid(TwoCellsOneStep(), Options(out));
  ASSERT_TRUE(plan.ok());
  const PlannedRun& run = plan->cells[0];
  std::filesystem::create_directories(run.dir);
  const int fd = ::open((run.dir + "/" + kRunLockFile).c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  absl::StatusOr<RunOutcome> busy = ExecuteRun(run, /*wait_for_lock=*/false);
  ASSERT_TRUE(busy.ok());
  EXPECT_EQ(busy->kind, RunOutcome::Kind::kBusy);
  // Waiting: the run starts once the holder lets go, and not before.
  std::atomic<bool> released{false};
  std::thread holder([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    released = true;
    ::close(fd);
  });
  absl::StatusOr<RunOutcome> ran = ExecuteRun(run, /*wait_for_lock=*/true);
  const bool waited = released;
  holder.join();
  ASSERT_TRUE(ran.ok());
  EXPECT_EQ(ran->kind, RunOutcome::Kind::kFinished);
  EXPECT_TRUE(waited);
}

TEST(ExecuteRun, ARunWithOtherFlagsIsRefusedNotReused) {
  const std::string out = TestTempPath("changed");
  absl::StatusOr<GridPlan> plan = PlanGrid(TwoCellsOneStep(), Options(out));
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(ExecuteRun(plan->cells[0], false)->kind, RunOutcome::Kind::kFinished);
  GridRunOptions other = Options(out);
  other.data = "fashion_mnist";
  other.threads = 2;  // Threads do not decide the results: not a difference.
  absl::StatusOr<GridPlan> changed = PlanGrid(TwoCellsOneStep(), other);
  ASSERT_TRUE(changed.ok());
  absl::StatusOr<RunOutcome> refused = ExecuteRun(changed->cells[0], false);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->kind, RunOutcome::Kind::kFailed);
  EXPECT_THAT(refused->message,
              HasSubstr("holds a run with other flags (--data=synthetic then, "
                        "--data=fashion_mnist now): delete that folder"));
  GridRunOptions threads = Options(out);
  threads.threads = 2;
  EXPECT_EQ(ExecuteRun(PlanGrid(TwoCellsOneStep(), threads)->cells[0], false)->kind,
            RunOutcome::Kind::kAlreadyFinished);
}

TEST(PlanGrid, AStepSeesOnlyTheStepsBeforeItAndUserFlagsStayAsTyped) {
  GridRuns runs = TwoCellsOneStep();
  runs.steps[0].flags.push_back("--x={step:pretrain}");  // Itself.
  EXPECT_THAT(PlanGrid(runs, Options("/t")).status().message(),
              HasSubstr("unknown placeholder {step:pretrain}"));
  GridRunOptions options = Options("/t");
  options.passthrough = {"--augment=odd{name}"};
  absl::StatusOr<GridPlan> plan = PlanGrid(TwoCellsOneStep(), options);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->cells[0].argv[plan->cells[0].argv.size() - 2], "--augment=odd{name}");
}

TEST(ExecuteRuns, EveryRunOnceOnSeveralThreadsWithSkips) {
  const std::string out = TestTempPath("many");
  absl::StatusOr<GridPlan> plan = PlanGrid(TwoCellsOneStep(), Options(out));
  ASSERT_TRUE(plan.ok());
  std::vector<std::string> reported;
  const auto outcomes = ExecuteRuns(
      plan->cells, /*jobs=*/3, /*wait_for_lock=*/false,
      [&](const PlannedRun& run, const absl::StatusOr<RunOutcome>&) {
        reported.push_back(run.label);
      },
      [](const PlannedRun& run) { return run.seed == 1 ? std::string("step failed") : ""; });
  ASSERT_EQ(outcomes.size(), 4u);
  EXPECT_EQ(reported.size(), 4u);
  for (size_t i = 0; i < outcomes.size(); ++i) {
    ASSERT_TRUE(outcomes[i].ok());
    if (plan->cells[i].seed == 1) {
      EXPECT_EQ(outcomes[i]->kind, RunOutcome::Kind::kFailed);
      EXPECT_EQ(outcomes[i]->message, "step failed");
    } else {
      EXPECT_EQ(outcomes[i]->kind, RunOutcome::Kind::kFinished);
    }
  }
}

}  // namespace
}  // namespace fauna
