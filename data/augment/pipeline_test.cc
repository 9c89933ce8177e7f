#include "data/augment/pipeline.h"

#include <random>
#include <string>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include "core/seed.h"
#include "data/augment/geometric.h"
#include "data/augment/noise.h"
#include "data/augment/test_images.h"

namespace fauna {
namespace {

using ::fauna::augment_test::Noise;
using ::fauna::augment_test::Same;

using ::testing::HasSubstr;

TEST(Pipeline, ParsesEveryStepIntoACanonicalSpec) {
  absl::StatusOr<Pipeline> pipeline = Pipeline::Parse(
      " hflip, vflip(p=0.25), rotate(degrees=10, border=reflect), translate(pixels=2), "
      "resized_crop(size=32, "
      "scale=0.5:1), resize(size=24, center_crop=true), noise(sigma=5, p=0.5), "
      "occlude(fill=noise, area=0.1:0.2), partial(region=side, keep=0.75, resize_back=false) ");
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  EXPECT_EQ(pipeline->size(), 9u);
  EXPECT_EQ(pipeline->spec(),
            "hflip(p=0.5), vflip(p=0.25), rotate(degrees=10, border=reflect, sampling=bilinear), "
            "translate(pixels=2, border=constant), "
            "resized_crop(height=32, width=32, scale=0.5:1, ratio=0.75:1.3333333333333333), "
            "resize(size=24, center_crop=true), noise(sigma=5, p=0.5), "
            "occlude(p=1, area=0.1:0.2, ratio=0.3:3.3, fill=noise), "
            "partial(region=side, keep=0.75, resize_back=false)");
  absl::StatusOr<Pipeline> again = Pipeline::Parse(pipeline->spec());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->spec(), pipeline->spec());

  // Same generator, same image; the input is left alone.
  const cv::Mat input = Noise(50, 40);
  const cv::Mat input_copy = input.clone();
  std::mt19937_64 rng_a = MakeGenerator(4, 1, 2);
  std::mt19937_64 rng_b = MakeGenerator(4, 1, 2);
  absl::StatusOr<cv::Mat> a = pipeline->Apply(input, rng_a);
  absl::StatusOr<cv::Mat> b = again->Apply(input, rng_b);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(Same(*a, *b));
  EXPECT_TRUE(Same(input, input_copy));
  EXPECT_EQ(a->type(), CV_8UC3);
  EXPECT_TRUE(a->size() == cv::Size(24, 18) || a->size() == cv::Size(18, 24)) << a->size();
}

TEST(Pipeline, PartialStepTakesQuadrants) {
  absl::StatusOr<Pipeline> pipeline =
      Pipeline::Parse("partial(region=bottom_right, keep=0.25, resize_back=false)");
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  EXPECT_EQ(pipeline->spec(), "partial(region=bottom_right, keep=0.25, resize_back=false)");
  const cv::Mat input = Noise(40, 30);
  std::mt19937_64 rng = MakeGenerator(0, 0, 0);
  absl::StatusOr<cv::Mat> view = pipeline->Apply(input, rng);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_TRUE(Same(*view, input(cv::Rect(20, 15, 20, 15))));
}

// Apply, then ToTensor: the two-step path ApplyInto shortens.
at::Tensor ApplyThenToTensor(const Pipeline& pipeline, const cv::Mat& image, std::mt19937_64& rng) {
  absl::StatusOr<cv::Mat> applied = pipeline.Apply(image, rng);
  EXPECT_TRUE(applied.ok()) << applied.status();
  return *ToTensor(*applied, kImageNetNormalization);
}

TEST(Pipeline, ApplyIntoIsExactlyApplyThenToTensorWhenNoResamplingIsFused) {
  // No warp at the end; flips alone (exact warps); nothing at all.
  for (const char* spec : {"rotate(degrees=20), hflip, noise(sigma=9)",
                           "noise(sigma=5), hflip, vflip", "none"}) {
    SCOPED_TRACE(spec);
    absl::StatusOr<Pipeline> pipeline = Pipeline::Parse(spec);
    ASSERT_TRUE(pipeline.ok());
    const cv::Mat input = Noise(30, 20);
    for (uint64_t index = 0; index < 8; ++index) {
      std::mt19937_64 rng_a = MakeGenerator(2, 0, index);
      std::mt19937_64 rng_b = MakeGenerator(2, 0, index);
      at::Tensor into = at::empty({3, 20, 30});
      ASSERT_TRUE(pipeline->ApplyInto(input, rng_a, kImageNetNormalization, into).ok());
      EXPECT_TRUE(at::equal(into, ApplyThenToTensor(*pipeline, input, rng_b)));
      EXPECT_EQ(rng_a(), rng_b());  // The same draws.
    }
  }
}

TEST(Pipeline, ApplyIntoFusesALastRotationWithTheSameDraws) {
  const cv::Mat input = Noise(30, 20);
  const cv::Mat input_copy = input.clone();
  for (const char* spec : {"hflip, rotate(degrees=30, sampling=nearest)",
                           "vflip, rotate(degrees=30, border=reflect)", "rotate",
                           "rotate(sampling=nearest), hflip, vflip",
                           "hflip, translate(pixels=3)", "translate(border=reflect), vflip"}) {
    SCOPED_TRACE(spec);
    absl::StatusOr<Pipeline> pipeline = Pipeline::Parse(spec);
    ASSERT_TRUE(pipeline.ok());
    for (uint64_t index = 0; index < 4; ++index) {
      std::mt19937_64 rng_a = MakeGenerator(2, 0, index);
      std::mt19937_64 rng_b = MakeGenerator(2, 0, index);
      at::Tensor into = at::empty({3, 20, 30});
      ASSERT_TRUE(pipeline->ApplyInto(input, rng_a, kImageNetNormalization, into).ok());
      const at::Tensor two_step = ApplyThenToTensor(*pipeline, input, rng_b);
      // Same angle and flips: nearly every pixel agrees (the rest differ by rounding).
      const at::Tensor close = (into - two_step).abs() < 0.05;
      EXPECT_GT(close.to(at::kFloat).mean().item<float>(), 0.9f);
      // Flips and whole-pixel shifts compose into a warp on the pixel grid: no rounding at all.
      if (std::string(spec).find("translate") != std::string::npos) {
        EXPECT_TRUE(at::allclose(into, two_step, /*rtol=*/0, /*atol=*/1e-6));
      }
      EXPECT_EQ(rng_a(), rng_b());
    }
  }
  EXPECT_TRUE(Same(input, input_copy));
}

TEST(Pipeline, ApplyIntoErrorsNameTheStepOrTheDestination) {
  absl::StatusOr<Pipeline> pipeline = Pipeline::Parse("hflip, rotate");
  ASSERT_TRUE(pipeline.ok());
  std::mt19937_64 rng = MakeGenerator(0, 0, 0);
  at::Tensor wrong = at::empty({3, 5, 5});
  absl::Status status = pipeline->ApplyInto(Noise(6, 4), rng, kImageNetNormalization, wrong);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("augmentation steps hflip(p=0.5), rotate(degrees=15"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("[3, 4, 6]"));
  cv::Mat gray(4, 6, CV_8UC1, cv::Scalar(0));
  at::Tensor place = at::empty({3, 4, 6});
  status = pipeline->ApplyInto(gray, rng, kImageNetNormalization, place);
  EXPECT_THAT(std::string(status.message()), HasSubstr("augmentation step hflip"));
}

TEST(Pipeline, IsTheCompositionOfItsSteps) {
  absl::StatusOr<Pipeline> pipeline = Pipeline::Parse("vflip(p=0.5), noise(sigma=10, p=1)");
  ASSERT_TRUE(pipeline.ok());
  for (uint64_t index = 0; index < 10; ++index) {
    std::mt19937_64 rng = MakeGenerator(1, 0, index);
    absl::StatusOr<cv::Mat> piped = pipeline->Apply(Noise(12, 10), rng);
    ASSERT_TRUE(piped.ok());
    cv::Mat by_hand = Noise(12, 10);
    std::mt19937_64 hand_rng = MakeGenerator(1, 0, index);
    ASSERT_TRUE(RandomVerticalFlip(by_hand, 0.5, hand_rng).ok());
    ASSERT_TRUE(RandomGaussianNoise(by_hand, 10, 1, hand_rng).ok());
    EXPECT_TRUE(Same(*piped, by_hand)) << index;
  }
}

TEST(Pipeline, EmptySpecCopiesTheImage) {
  for (const std::string& spec : {std::string(""), std::string("none"), std::string("  ")}) {
    absl::StatusOr<Pipeline> pipeline = Pipeline::Parse(spec);
    ASSERT_TRUE(pipeline.ok());
    EXPECT_TRUE(pipeline->empty());
    EXPECT_EQ(pipeline->spec(), "none");
    const cv::Mat input = Noise(5, 5);
    std::mt19937_64 rng(1);
    absl::StatusOr<cv::Mat> output = pipeline->Apply(input, rng);
    ASSERT_TRUE(output.ok());
    EXPECT_TRUE(Same(*output, input));
    EXPECT_NE(output->data, input.data);
  }
}

TEST(Pipeline, BadSpecsAreErrorsNamingTheStep) {
  struct Case {
    std::string spec;
    std::string fragment;
  };
  const Case cases[] = {
      {"hflip(p=-0.1)", "probability"},
      {"vflip(p=1.5)", "probability"},
      {"hflip(p=abc)", "must be a number"},
      {"hflip(p=nan)", "must be a number"},
      {"hflip(q=1)", "unknown key 'q'"},
      {"hflip(p=0.5, p=0.6)", "given twice"},
      {"hflip(p)", "key=value"},
      {"hflip(p=0.5", "missing ')'"},
      {"hflip(p=0.5))", "unbalanced"},
      {"hflip(p=0.5)x", "text after ')'"},
      {"hflip,,vflip", "empty step"},
      {"twirl", "unknown augmentation step 'twirl'"},
      {"rotate(degrees=200)", "degrees"},
      {"rotate(border=wrap)", "border"},
      {"rotate(sampling=cubic)", "sampling must be bilinear or nearest"},
      {"translate(pixels=-1)", "pixels"},
      {"translate(pixels=2.5)", "integer"},
      {"translate(border=wrap)", "border must be constant or reflect"},
      {"resized_crop(size=0)", "output size"},
      {"resized_crop(size=1.5)", "integer"},
      {"resized_crop(scale=0.5:0.2)", "scale"},
      {"resized_crop(ratio=0:1)", "ratio"},
      {"resize(size=-4)", "decode size"},
      {"resize(center_crop=maybe)", "true or false"},
      {"noise(sigma=-1)", "sigma"},
      {"noise(p=2)", "probability"},
      {"occlude(fill=pink)", "fill"},
      {"occlude(area=0:0.5)", "area"},
      {"partial(keep=1.5)", "keep"},
      {"partial(keep=0)", "keep"},
      {"partial(region=diagonal)", "diagonal"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Pipeline> pipeline = Pipeline::Parse("hflip, " + c.spec);
    ASSERT_FALSE(pipeline.ok()) << c.spec;
    EXPECT_EQ(pipeline.status().code(), absl::StatusCode::kInvalidArgument) << c.spec;
    EXPECT_THAT(std::string(pipeline.status().message()), HasSubstr(c.fragment)) << c.spec;
  }
  absl::StatusOr<Pipeline> pipeline = Pipeline::Parse("rotate(degrees=200)");
  EXPECT_THAT(std::string(pipeline.status().message()), HasSubstr("rotate(degrees=200)"));
}

TEST(Pipeline, StepFailuresAtApplyTimeNameTheStep) {
  absl::StatusOr<Pipeline> pipeline = Pipeline::Parse("hflip(p=1)");
  ASSERT_TRUE(pipeline.ok());
  std::mt19937_64 rng(1);
  absl::StatusOr<cv::Mat> grey = pipeline->Apply(cv::Mat(4, 4, CV_8UC1), rng);
  ASSERT_FALSE(grey.ok());
  EXPECT_THAT(std::string(grey.status().message()), HasSubstr("hflip(p=1)"));
  EXPECT_THAT(std::string(grey.status().message()), HasSubstr("CV_8UC3"));
  absl::StatusOr<cv::Mat> empty = pipeline->Apply(cv::Mat(), rng);
  EXPECT_FALSE(empty.ok());

  Pipeline custom;
  custom.Add("invert", [](cv::Mat& image, std::mt19937_64&) {
    image = cv::Scalar::all(255) - image;
    return absl::OkStatus();
  });
  custom.Add("refuse", [](cv::Mat&, std::mt19937_64&) {
    return absl::FailedPreconditionError("no thanks");
  });
  EXPECT_EQ(custom.spec(), "invert, refuse");
  absl::StatusOr<cv::Mat> refused = custom.Apply(Noise(3, 3), rng);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("refuse: no thanks"));
}

}  // namespace
}  // namespace fauna
