#include "data/synthetic_source.h"

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace fauna {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::unique_ptr<SyntheticSource> MustOpen(const SyntheticOptions& options) {
  absl::StatusOr<std::unique_ptr<SyntheticSource>> source = SyntheticSource::Open(options);
  EXPECT_TRUE(source.ok()) << source.status();
  return source.ok() ? std::move(*source) : nullptr;
}

cv::Mat MustLoad(const SyntheticSource& source, int64_t index) {
  absl::StatusOr<cv::Mat> image = source.Load(index);
  EXPECT_TRUE(image.ok()) << image.status();
  return image.ok() ? *image : cv::Mat();
}

bool SameBytes(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

SyntheticOptions Options(int num_classes, int64_t count, int image_size, uint64_t seed,
                         double difficulty) {
  SyntheticOptions options;
  options.num_classes = num_classes;
  options.count = count;
  options.image_size = image_size;
  options.seed = seed;
  options.difficulty = difficulty;
  return options;
}

TEST(SyntheticSource, SameSeedGivesSameBytes) {
  const SyntheticOptions options = Options(7, 50, 48, /*seed=*/11, /*difficulty=*/0.6);
  std::unique_ptr<SyntheticSource> a = MustOpen(options);
  std::unique_ptr<SyntheticSource> b = MustOpen(options);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  for (int64_t i : {0, 1, 17, 49}) {
    const cv::Mat first = MustLoad(*a, i);
    EXPECT_TRUE(SameBytes(first, MustLoad(*b, i))) << i;
    EXPECT_TRUE(SameBytes(first, MustLoad(*a, i))) << i;  // Loading again changes nothing.
  }
  // Out of order and from several threads: still the same bytes.
  std::vector<cv::Mat> threaded(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < 8; i += 4) threaded[i] = MustLoad(*b, 7 - i);
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(SameBytes(threaded[i], MustLoad(*a, 7 - i))) << i;
}

TEST(SyntheticSource, DifferentSeedOrIndexGivesDifferentImages) {
  std::unique_ptr<SyntheticSource> a = MustOpen(Options(3, 30, 32, /*seed=*/1, 0.5));
  std::unique_ptr<SyntheticSource> b = MustOpen(Options(3, 30, 32, /*seed=*/2, 0.5));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  for (int64_t i = 0; i < 10; ++i) {
    EXPECT_FALSE(SameBytes(MustLoad(*a, i), MustLoad(*b, i))) << i;
    EXPECT_FALSE(SameBytes(MustLoad(*a, i), MustLoad(*a, i + 3))) << i;  // Same class.
  }
}

TEST(SyntheticSource, ImagesHaveTheAskedSize) {
  for (int image_size : {16, 33, 64, 224}) {
    std::unique_ptr<SyntheticSource> source = MustOpen(Options(11, 5, image_size, 0, 0.5));
    ASSERT_NE(source, nullptr);
    EXPECT_EQ(source->size(), 5);
    const cv::Mat image = MustLoad(*source, 4);
    EXPECT_EQ(image.type(), CV_8UC3);
    EXPECT_EQ(image.size(), cv::Size(image_size, image_size));
  }
}

TEST(SyntheticSource, LabelsAreBalancedAndNamed) {
  std::unique_ptr<SyntheticSource> source = MustOpen(Options(7, 100, 32, 0, 0.5));
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->class_names(),
              ElementsAre("cat", "dog", "fox", "leopard", "lion", "tiger", "wolf"));
  std::vector<int> histogram(7, 0);
  for (int64_t i = 0; i < source->size(); ++i) {
    ASSERT_EQ(source->label(i), i % 7);
    ++histogram[source->label(i)];
  }
  EXPECT_THAT(histogram, ElementsAre(15, 15, 14, 14, 14, 14, 14));
  EXPECT_EQ(source->describe(17), "synthetic:7:0:0.5:17");
  EXPECT_THAT(SyntheticClassNames(3), ElementsAre("cat", "dog", "wild"));
  EXPECT_THAT(SyntheticClassNames(11),
              ElementsAre("african_elephant", "amur_leopard", "arctic_fox", "cheetah", "chimpanzee",
                          "jaguar", "lion", "orangutan", "panda", "panther", "rhino"));
  EXPECT_TRUE(SyntheticClassNames(5).empty());
}

TEST(SyntheticSource, BadOptionsAreErrors) {
  const auto error = [](const SyntheticOptions& options) {
    absl::StatusOr<std::unique_ptr<SyntheticSource>> source = SyntheticSource::Open(options);
    EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(source.status().message());
  };
  EXPECT_THAT(error(Options(5, 10, 32, 0, 0.5)), HasSubstr("3, 7 or 11 classes, not 5"));
  EXPECT_THAT(error(Options(3, 0, 32, 0, 0.5)), HasSubstr("count of at least 1, not 0"));
  EXPECT_THAT(error(Options(3, -4, 32, 0, 0.5)), HasSubstr("not -4"));
  EXPECT_THAT(error(Options(3, 10, 15, 0, 0.5)), HasSubstr("16 to 2048 pixels, not 15"));
  EXPECT_THAT(error(Options(3, 10, 4096, 0, 0.5)), HasSubstr("not 4096"));
  EXPECT_THAT(error(Options(3, 10, 32, 0, -0.1)), HasSubstr("difficulty must be in [0, 1]"));
  EXPECT_THAT(error(Options(3, 10, 32, 0, 1.5)), HasSubstr("difficulty must be in [0, 1]"));
  EXPECT_THAT(error(Options(3, 10, 32, 0, std::numeric_limits<double>::quiet_NaN())),
              HasSubstr("difficulty must be in [0, 1]"));
  std::unique_ptr<SyntheticSource> source = MustOpen(Options(3, 10, 32, 0, 0.5));
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->Load(10).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(source->Load(-1).status().code(), absl::StatusCode::kOutOfRange);
}

// 8x8 RGB thumbnails of the first `count` images of `source`: what the trivial models below see.
std::vector<cv::Mat> Thumbnails(const SyntheticSource& source, int count) {
  std::vector<cv::Mat> thumbnails;
  for (int i = 0; i < count; ++i) {
    cv::Mat small;
    cv::resize(MustLoad(source, i), small, cv::Size(8, 8), 0, 0, cv::INTER_AREA);
    thumbnails.push_back(small);
  }
  return thumbnails;
}

// The features of thumbnail `i`: the cells in `cells` (all 64 for the full view, a block of them
// for a partial view at the same resolution), scaled to [0, 1], then a constant 1.
cv::Mat Features(const std::vector<cv::Mat>& thumbnails, int i, const cv::Rect& cells) {
  cv::Mat row(1, cells.area() * 3 + 1, CV_64F, cv::Scalar(1.0));
  thumbnails[i](cells).clone().reshape(1, 1).convertTo(row.colRange(0, cells.area() * 3), CV_64F,
                                                       1.0 / 255);
  return row;
}

// Test accuracy of a nearest-class-mean classifier (the per-class mean thumbnails), trained on
// the first `train` thumbnails and tested on the rest.
double NearestMeanAccuracy(const SyntheticSource& source, const std::vector<cv::Mat>& thumbnails,
                           int train) {
  const int classes = static_cast<int>(source.class_names().size());
  const cv::Rect all(0, 0, 8, 8);
  std::vector<cv::Mat> means;  // Each its own buffer (copies of one cv::Mat would share it).
  for (int c = 0; c < classes; ++c) means.emplace_back(1, 8 * 8 * 3 + 1, CV_64F, cv::Scalar(0));
  std::vector<int> counts(classes, 0);
  for (int i = 0; i < train; ++i) {
    means[source.label(i)] += Features(thumbnails, i, all);
    ++counts[source.label(i)];
  }
  for (int c = 0; c < classes; ++c) means[c] /= counts[c];
  int correct = 0;
  const int total = static_cast<int>(thumbnails.size());
  for (int i = train; i < total; ++i) {
    const cv::Mat x = Features(thumbnails, i, all);
    int best = 0;
    for (int c = 1; c < classes; ++c) {
      if (cv::norm(x, means[c]) < cv::norm(x, means[best])) best = c;
    }
    correct += best == source.label(i);
  }
  return static_cast<double>(correct) / (total - train);
}

// Test accuracy of ridge regression onto one-hot labels (a linear classifier) on the features of
// `cells`, trained on the first `train` thumbnails and tested on the rest.
double LinearAccuracy(const SyntheticSource& source, const std::vector<cv::Mat>& thumbnails,
                      int train, const cv::Rect& cells) {
  const int classes = static_cast<int>(source.class_names().size());
  const int total = static_cast<int>(thumbnails.size());
  const int features = cells.area() * 3 + 1;
  cv::Mat x(total, features, CV_64F);
  for (int i = 0; i < total; ++i) Features(thumbnails, i, cells).copyTo(x.row(i));
  cv::Mat y(train, classes, CV_64F, cv::Scalar(0));
  for (int i = 0; i < train; ++i) y.at<double>(i, static_cast<int>(source.label(i))) = 1.0;
  const cv::Mat x_train = x.rowRange(0, train);
  const cv::Mat gram = x_train.t() * x_train + cv::Mat::eye(features, features, CV_64F);
  cv::Mat weights;
  cv::solve(gram, x_train.t() * y, weights, cv::DECOMP_CHOLESKY);
  const cv::Mat scores = x.rowRange(train, total) * weights;
  int correct = 0;
  for (int i = 0; i < total - train; ++i) {
    cv::Point best;
    cv::minMaxLoc(scores.row(i), nullptr, nullptr, nullptr, &best);
    correct += best.x == source.label(train + i);
  }
  return static_cast<double>(correct) / (total - train);
}

// Measured (seed 5, 1000 images of 32 px, 700 to train): a linear model on 8x8 thumbnails reaches
// 0.96 / 0.53 / 0.31 on the 7-class set at difficulty 0 / 0.5 / 1 (chance 0.14); at 0.5, 0.41 with
// only the top-left quarter of the thumbnail, and the class means alone 0.27.
TEST(SyntheticSource, ClassesAreSeparableOnlyInPartAndLessSoFromPartOfTheFace) {
  const cv::Rect full(0, 0, 8, 8);
  const cv::Rect quarter(0, 0, 4, 4);
  std::vector<double> linear;
  for (double difficulty : {0.0, 0.5, 1.0}) {
    std::unique_ptr<SyntheticSource> source =
        MustOpen(Options(7, 1000, 32, /*seed=*/5, difficulty));
    ASSERT_NE(source, nullptr);
    const std::vector<cv::Mat> thumbnails = Thumbnails(*source, 1000);
    linear.push_back(LinearAccuracy(*source, thumbnails, 700, full));
    if (difficulty == 0.5) {
      const double chance = 1.0 / 7;
      EXPECT_GT(linear.back(), chance + 0.2);
      EXPECT_LT(linear.back(), 0.8);
      const double partial = LinearAccuracy(*source, thumbnails, 700, quarter);
      EXPECT_LT(partial, linear.back() - 0.05);
      EXPECT_GT(partial, chance + 0.1);
      // The per-class mean images differ: telling classes apart by them alone beats chance.
      const double mean = NearestMeanAccuracy(*source, thumbnails, 700);
      std::printf("difficulty 0.5: linear %.3f, quarter %.3f, class means %.3f\n",
                  linear.back(), partial, mean);
      EXPECT_GT(mean, chance + 0.07);
      EXPECT_LT(mean, linear.back());
    }
  }
  std::printf("linear model at difficulty 0, 0.5, 1: %.3f %.3f %.3f\n", linear[0], linear[1],
              linear[2]);
  EXPECT_GT(linear[0], linear[1] + 0.2);  // Harder with difficulty...
  EXPECT_GT(linear[1], linear[2] + 0.1);
  EXPECT_GT(linear[0], 0.85);  // ...from nearly separable to nearly hopeless for this model.
  EXPECT_LT(linear[2], 0.4);
}

TEST(SyntheticSource, ThreeAndElevenClassSetsAreSeparableOnlyInPart) {
  for (int classes : {3, 11}) {
    std::unique_ptr<SyntheticSource> source = MustOpen(Options(classes, 1000, 32, 5, 0.5));
    ASSERT_NE(source, nullptr);
    const double accuracy =
        LinearAccuracy(*source, Thumbnails(*source, 1000), 700, cv::Rect(0, 0, 8, 8));
    std::printf("%d classes, difficulty 0.5: linear %.3f\n", classes, accuracy);
    EXPECT_GT(accuracy, 1.0 / classes + 0.15) << classes;
    EXPECT_LT(accuracy, 0.85) << classes;
  }
}

// Pixel-level variation: neighbouring pixels differ more (noise, clutter) and whole images differ
// more from one another (exposure, colour, pose) as the difficulty rises.
TEST(SyntheticSource, DifficultyAddsVariation) {
  std::vector<double> neighbour_differences;
  std::vector<double> brightness_spreads;
  for (double difficulty : {0.0, 0.5, 1.0}) {
    std::unique_ptr<SyntheticSource> source = MustOpen(Options(3, 90, 64, 3, difficulty));
    ASSERT_NE(source, nullptr);
    double neighbour = 0;
    std::vector<double> brightness;
    for (int i = 0; i < 90; ++i) {
      cv::Mat image;
      MustLoad(*source, i).convertTo(image, CV_32F);
      neighbour += cv::mean(cv::abs(image.colRange(1, 64) - image.colRange(0, 63)))[0] / 90;
      brightness.push_back(cv::mean(image)[0]);
    }
    cv::Scalar mean, spread;
    cv::meanStdDev(brightness, mean, spread);
    neighbour_differences.push_back(neighbour);
    brightness_spreads.push_back(spread[0]);
    std::printf("difficulty %.1f: neighbour difference %.2f, brightness spread %.2f\n", difficulty,
                neighbour, spread[0]);
  }
  EXPECT_LT(neighbour_differences[0] * 1.5, neighbour_differences[1]);
  EXPECT_LT(neighbour_differences[1] * 1.3, neighbour_differences[2]);
  EXPECT_LT(brightness_spreads[0], brightness_spreads[2]);
}

}  // namespace
}  // namespace fauna
