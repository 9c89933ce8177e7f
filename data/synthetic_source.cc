#include "data/synthetic_source.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <random>
#include <utility>

#include <opencv2/imgproc.hpp>

#include "absl/status/status.h"
#include "core/cv_status.h"
#include "core/random.h"
#include "core/seed.h"

namespace fauna {
namespace {

constexpr double kPi = 3.14159265358979323846;

// ---------------------------------------------------------------------------------------------
// Deterministic draws: std::mt19937_64's output is fixed by the standard; the conversions to
// numbers are ours, so the same seed gives the same images with any standard library. (Never two
// draws in one function call's arguments: their order would be the compiler's choice.)
class Draws {
 public:
  explicit Draws(uint64_t seed) : rng_(seed) {}
  double Uniform() { return Uniform01(rng_); }
  double Uniform(double low, double high) { return low + (high - low) * Uniform(); }
  // In [0, n).
  int Int(int n) { return std::min(n - 1, static_cast<int>(Uniform() * n)); }
  bool Chance(double p) { return Uniform() < p; }
  double Normal() {
    const double u = 1.0 - Uniform();  // (0, 1]
    return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * kPi * Uniform());
  }
  float UniformF() { return static_cast<float>(Uniform()); }
  float UniformF(double low, double high) { return static_cast<float>(Uniform(low, high)); }
  float NormalF(double sigma) { return static_cast<float>(Normal() * sigma); }
  uint64_t Bits() { return rng_(); }

 private:
  std::mt19937_64 rng_;
};

using Rgb = cv::Vec3f;

cv::Scalar Color(const Rgb& rgb) {
  return cv::Scalar(std::clamp(rgb[0], 0.f, 255.f), std::clamp(rgb[1], 0.f, 255.f),
                    std::clamp(rgb[2], 0.f, 255.f));
}
Rgb Mix(const Rgb& a, const Rgb& b, float t) { return a * (1.f - t) + b * t; }
Rgb Scale(const Rgb& a, float gain) { return a * gain; }

// ---------------------------------------------------------------------------------------------
// Species: what tells the classes apart.

enum class Ears { kPointed, kFloppy, kRound, kFan, kSide };
enum class Coat { kPlain, kStripes, kTabby, kSpots, kRosettes, kPatches };

enum Extra : int {
  kMane = 1 << 0,
  kTrunk = 1 << 1,
  kHorn = 1 << 2,
  kEyePatches = 1 << 3,
  kWhiskers = 1 << 4,
  kTearLines = 1 << 5,
  kFacialSkin = 1 << 6,
  kCheekPads = 1 << 7,
  kDarkEars = 1 << 8,
  kSlitPupils = 1 << 9,
};

struct Species {
  const char* name;
  float aspect;  // Face width / height.
  float chin;    // 0: round lower face; 1: long pointed chin.
  Ears ears;
  float ear_size;
  float snout;        // Muzzle length, 0..1.
  float snout_width;  // 0..1.
  std::array<Rgb, 4> fur;
  int fur_count;
  Rgb muzzle;
  float muzzle_mix;  // How far the muzzle colour departs from the fur colour.
  Coat coat;
  float coat_chance;
  float coat_scale;  // Size of spots and rosettes.
  Rgb coat_color;
  int extras;
  float extra_chance;  // Chance of the extras that vary within the species (mane, tusks...).
  Rgb eye;
};

// clang-format off
const Species kSpecies[] = {
  // name, aspect, chin, ears, ear_size, snout, snout_width, fur[], fur_count, muzzle, muzzle_mix,
  // coat, coat_chance, coat_scale, coat_color, extras, extra_chance, eye
  {"cat", 1.12f, 0.1f, Ears::kPointed, 0.95f, 0.15f, 0.5f,
   {Rgb(215, 135, 60), Rgb(128, 128, 132), Rgb(48, 44, 42), Rgb(225, 210, 180)}, 4,
   Rgb(235, 225, 210), 0.5f, Coat::kTabby, 0.45f, 1.0f, Rgb(70, 50, 40),
   kWhiskers | kSlitPupils, 0.9f, Rgb(150, 190, 60)},
  {"dog", 0.95f, 0.25f, Ears::kFloppy, 1.0f, 0.6f, 0.75f,
   {Rgb(205, 165, 95), Rgb(115, 75, 45), Rgb(42, 40, 38), Rgb(230, 225, 215)}, 4,
   Rgb(205, 185, 155), 0.35f, Coat::kPatches, 0.35f, 1.0f, Rgb(238, 232, 222),
   0, 0.f, Rgb(90, 60, 30)},
  {"fox", 0.95f, 0.8f, Ears::kPointed, 1.25f, 0.65f, 0.45f,
   {Rgb(205, 95, 35), Rgb(190, 110, 50), Rgb(215, 125, 60)}, 3,
   Rgb(245, 240, 230), 0.85f, Coat::kPlain, 0.f, 1.0f, Rgb(0, 0, 0),
   kDarkEars, 0.f, Rgb(200, 150, 40)},
  {"leopard", 1.0f, 0.2f, Ears::kRound, 0.7f, 0.35f, 0.6f,
   {Rgb(215, 170, 85), Rgb(200, 155, 80)}, 2,
   Rgb(235, 225, 200), 0.6f, Coat::kRosettes, 1.f, 1.0f, Rgb(40, 30, 20),
   kWhiskers, 0.5f, Rgb(190, 170, 70)},
  {"lion", 0.95f, 0.25f, Ears::kRound, 0.6f, 0.45f, 0.7f,
   {Rgb(200, 150, 80), Rgb(185, 140, 85), Rgb(210, 165, 100)}, 3,
   Rgb(225, 205, 170), 0.4f, Coat::kPlain, 0.f, 1.0f, Rgb(0, 0, 0),
   kMane, 0.7f, Rgb(170, 120, 50)},
  {"tiger", 1.05f, 0.2f, Ears::kRound, 0.7f, 0.4f, 0.7f,
   {Rgb(230, 125, 35), Rgb(220, 115, 40)}, 2,
   Rgb(245, 240, 230), 0.8f, Coat::kStripes, 1.f, 1.0f, Rgb(25, 20, 20),
   kWhiskers, 0.8f, Rgb(200, 170, 60)},
  {"wolf", 0.9f, 0.6f, Ears::kPointed, 1.0f, 0.7f, 0.55f,
   {Rgb(140, 132, 122), Rgb(120, 110, 100), Rgb(165, 155, 140)}, 3,
   Rgb(220, 215, 205), 0.6f, Coat::kPlain, 0.f, 1.0f, Rgb(0, 0, 0),
   0, 0.f, Rgb(200, 170, 80)},
  {"african_elephant", 0.8f, 0.3f, Ears::kFan, 1.3f, 0.2f, 0.5f,
   {Rgb(125, 120, 115), Rgb(140, 132, 125)}, 2,
   Rgb(125, 120, 115), 0.f, Coat::kPlain, 0.f, 1.0f, Rgb(0, 0, 0),
   kTrunk, 0.7f, Rgb(60, 40, 30)},
  {"amur_leopard", 1.0f, 0.2f, Ears::kRound, 0.75f, 0.35f, 0.6f,
   {Rgb(230, 200, 145), Rgb(220, 190, 140)}, 2,
   Rgb(240, 235, 220), 0.6f, Coat::kRosettes, 1.f, 1.4f, Rgb(45, 35, 30),
   kWhiskers, 0.5f, Rgb(160, 170, 90)},
  {"arctic_fox", 1.0f, 0.6f, Ears::kRound, 0.6f, 0.45f, 0.45f,
   {Rgb(240, 240, 238), Rgb(225, 225, 225), Rgb(150, 135, 115)}, 3,
   Rgb(250, 250, 250), 0.3f, Coat::kPlain, 0.f, 1.0f, Rgb(0, 0, 0),
   0, 0.f, Rgb(80, 60, 40)},
  {"cheetah", 0.95f, 0.3f, Ears::kRound, 0.6f, 0.3f, 0.55f,
   {Rgb(220, 180, 95), Rgb(210, 170, 90)}, 2,
   Rgb(235, 225, 200), 0.5f, Coat::kSpots, 1.f, 1.0f, Rgb(30, 25, 20),
   kTearLines, 0.f, Rgb(190, 150, 50)},
  {"chimpanzee", 0.9f, 0.1f, Ears::kSide, 0.9f, 0.5f, 0.8f,
   {Rgb(55, 45, 40), Rgb(70, 55, 45)}, 2,
   Rgb(200, 170, 145), 1.f, Coat::kPlain, 0.f, 1.0f, Rgb(0, 0, 0),
   kFacialSkin, 0.f, Rgb(90, 60, 35)},
  {"jaguar", 1.1f, 0.15f, Ears::kRound, 0.65f, 0.4f, 0.7f,
   {Rgb(210, 150, 60), Rgb(200, 140, 55)}, 2,
   Rgb(230, 215, 185), 0.5f, Coat::kRosettes, 1.f, 1.2f, Rgb(30, 22, 18),
   kWhiskers, 0.5f, Rgb(200, 170, 60)},
  {"orangutan", 1.25f, 0.f, Ears::kSide, 0.5f, 0.45f, 0.8f,
   {Rgb(180, 80, 30), Rgb(165, 70, 25), Rgb(195, 95, 40)}, 3,
   Rgb(110, 85, 70), 1.f, Coat::kPlain, 0.f, 1.0f, Rgb(0, 0, 0),
   kFacialSkin | kCheekPads, 0.6f, Rgb(60, 40, 25)},
  {"panda", 1.1f, 0.1f, Ears::kRound, 0.8f, 0.3f, 0.5f,
   {Rgb(240, 240, 235), Rgb(230, 228, 220)}, 2,
   Rgb(240, 240, 235), 0.f, Coat::kPlain, 0.f, 1.0f, Rgb(0, 0, 0),
   kEyePatches | kDarkEars, 0.f, Rgb(30, 30, 30)},
  {"panther", 1.0f, 0.2f, Ears::kRound, 0.65f, 0.4f, 0.65f,
   {Rgb(30, 30, 34), Rgb(42, 40, 42)}, 2,
   Rgb(55, 52, 55), 0.4f, Coat::kRosettes, 1.f, 1.1f, Rgb(16, 16, 18),
   kWhiskers, 0.5f, Rgb(170, 190, 60)},
  {"rhino", 0.75f, 0.5f, Ears::kPointed, 0.55f, 0.8f, 0.8f,
   {Rgb(130, 125, 120), Rgb(115, 110, 105), Rgb(145, 138, 130)}, 3,
   Rgb(130, 125, 120), 0.f, Coat::kPlain, 0.f, 1.0f, Rgb(0, 0, 0),
   kHorn, 0.f, Rgb(40, 30, 25)},
};
// clang-format on
constexpr int kSpeciesCount = sizeof(kSpecies) / sizeof(kSpecies[0]);

const Species& FindSpecies(const std::string& name) {
  for (const Species& species : kSpecies) {
    if (name == species.name) return species;
  }
  return kSpecies[0];  // Unreachable for the names used below.
}

// The AFHQ study's "wild" class holds these five species (its 7-class set tells them apart).
constexpr const char* kWildSpecies[] = {"fox", "leopard", "lion", "tiger", "wolf"};

// ---------------------------------------------------------------------------------------------
// Drawing in a face's own frame: the face ellipse has half-height 1 and half-width `aspect`,
// y points down; Frame maps it onto the canvas with the face's offset, scale and rotation.

constexpr int kShift = 4;  // OpenCV's fixed-point sub-pixel bits.
constexpr float kFixed = 1 << kShift;

struct Frame {
  cv::Point2f center;
  float radius = 1.f;
  float degrees = 0.f;
  float cos = 1.f;
  float sin = 0.f;

  cv::Point2f Map(float x, float y) const {
    return {center.x + radius * (cos * x - sin * y), center.y + radius * (sin * x + cos * y)};
  }
  cv::Point Fixed(float x, float y) const {
    const cv::Point2f p = Map(x, y);
    return {cvRound(p.x * kFixed), cvRound(p.y * kFixed)};
  }
  int Pixels(float width) const { return std::max(1, cvRound(width * radius)); }
};

class Painter {
 public:
  Painter(cv::Mat& image, const Frame& frame) : image_(image), frame_(frame) {}

  void Ellipse(float x, float y, float half_width, float half_height, float degrees,
               const Rgb& color, float outline = 0.f, float start = 0.f, float end = 360.f) {
    const cv::Size axes(std::max(0, cvRound(half_width * frame_.radius * kFixed)),
                        std::max(0, cvRound(half_height * frame_.radius * kFixed)));
    cv::ellipse(image_, frame_.Fixed(x, y), axes, degrees + frame_.degrees, start, end,
                Color(color), outline > 0.f ? frame_.Pixels(outline) : cv::FILLED, cv::LINE_AA,
                kShift);
  }
  void Circle(float x, float y, float radius, const Rgb& color, float outline = 0.f) {
    Ellipse(x, y, radius, radius, 0.f, color, outline);
  }
  void Polygon(const std::vector<cv::Point2f>& points, const Rgb& color) {
    std::vector<cv::Point> fixed;
    fixed.reserve(points.size());
    for (const cv::Point2f& p : points) fixed.push_back(frame_.Fixed(p.x, p.y));
    cv::fillPoly(image_, std::vector<std::vector<cv::Point>>{fixed}, Color(color), cv::LINE_AA,
                 kShift);
  }
  void Line(float x0, float y0, float x1, float y1, float width, const Rgb& color) {
    cv::line(image_, frame_.Fixed(x0, y0), frame_.Fixed(x1, y1), Color(color), frame_.Pixels(width),
             cv::LINE_AA, kShift);
  }
  void Polyline(const std::vector<cv::Point2f>& points, float width, const Rgb& color) {
    for (size_t i = 1; i < points.size(); ++i) {
      Line(points[i - 1].x, points[i - 1].y, points[i].x, points[i].y, width, color);
    }
  }

 private:
  cv::Mat& image_;
  const Frame& frame_;
};

// A natural background colour: foliage, bark, sky, rock, sand or snow.
Rgb NatureColor(Draws& draws) {
  static const Rgb kPalette[] = {Rgb(70, 120, 50),   Rgb(95, 140, 60),   Rgb(110, 85, 55),
                                 Rgb(140, 110, 70),  Rgb(150, 185, 225), Rgb(135, 135, 130),
                                 Rgb(200, 180, 140), Rgb(225, 230, 235), Rgb(50, 70, 40)};
  const Rgb base = kPalette[draws.Int(static_cast<int>(std::size(kPalette)))];
  Rgb color = base;
  for (int c = 0; c < 3; ++c) color[c] += draws.NormalF(18);
  return color;
}

void DrawBackground(cv::Mat& image, Draws& draws, double difficulty) {
  const int size = image.rows;
  const Rgb top = NatureColor(draws);
  const Rgb bottom = NatureColor(draws);
  for (int y = 0; y < size; ++y) {
    const float t = size > 1 ? static_cast<float>(y) / (size - 1) : 0.f;
    image.row(y).setTo(Color(Mix(top, bottom, t)));
  }
  // Clutter: leaves, rocks, grass and branches; at high difficulty some in animal colours.
  const int clutter = static_cast<int>(draws.Uniform() * (1.0 + 16.0 * difficulty));
  const Frame canvas{cv::Point2f(0.f, 0.f), static_cast<float>(size)};
  Painter painter(image, canvas);
  for (int i = 0; i < clutter; ++i) {
    Rgb color = NatureColor(draws);
    if (draws.Chance(0.35 * difficulty)) {
      const Species& other = kSpecies[draws.Int(kSpeciesCount)];
      color = other.fur[draws.Int(other.fur_count)];
    }
    const float x = draws.UniformF();
    const float y = draws.UniformF();
    switch (draws.Int(3)) {
      case 0: {
        const float half_width = draws.UniformF(0.03, 0.18);
        const float half_height = draws.UniformF(0.02, 0.1);
        painter.Ellipse(x, y, half_width, half_height, draws.UniformF(0, 180), color);
        break;
      }
      case 1: {
        const float dx = draws.NormalF(0.25);
        const float dy = draws.NormalF(0.25);
        painter.Line(x, y, x + dx, y + dy, draws.UniformF(0.005, 0.03), color);
        break;
      }
      default:
        painter.Circle(x, y, draws.UniformF(0.02, 0.1), color);
        break;
    }
  }
}

// One face's look, drawn from its species with variation.
struct Look {
  Species species;
  Rgb fur;
  Rgb muzzle;
  bool coat = false;
  bool extra = false;  // The species' varying extras (mane, tusks, cheek pads) are present.
};

Look MakeLook(const Species& base, Draws& draws, double difficulty) {
  Look look{base, {}, {}};
  Species& s = look.species;
  // At higher difficulty some faces borrow one feature from another species.
  const double borrow = 0.3 * difficulty;
  if (draws.Chance(borrow)) {
    const Species& other = kSpecies[draws.Int(kSpeciesCount)];
    s.ears = other.ears;
    s.ear_size = other.ear_size;
  }
  if (draws.Chance(borrow)) {
    const Species& other = kSpecies[draws.Int(kSpeciesCount)];
    s.coat = other.coat;
    s.coat_chance = other.coat_chance;
    s.coat_scale = other.coat_scale;
    s.coat_color = other.coat_color;
  }
  if (draws.Chance(borrow)) {
    const Species& other = kSpecies[draws.Int(kSpeciesCount)];
    s.fur = other.fur;
    s.fur_count = other.fur_count;
  }
  // Shapes vary around the species' values.
  const double spread = 0.06 + 0.14 * difficulty;
  const auto vary = [&](float value) {
    return static_cast<float>(value * std::exp(draws.Normal() * spread));
  };
  s.aspect = vary(s.aspect);
  s.ear_size = vary(s.ear_size);
  s.snout = std::clamp(vary(s.snout), 0.05f, 1.f);
  s.snout_width = std::clamp(vary(s.snout_width), 0.2f, 1.f);
  s.chin = std::clamp(vary(s.chin + 0.05f), 0.f, 1.f);
  // Colours: a palette entry with a per-channel gain and a brightness change.
  const double color_spread = 0.05 + 0.12 * difficulty;
  const float brightness = static_cast<float>(std::exp(draws.Normal() * color_spread));
  look.fur = s.fur[draws.Int(s.fur_count)];
  for (int c = 0; c < 3; ++c) {
    look.fur[c] *= brightness * static_cast<float>(1.0 + draws.Normal() * color_spread * 0.5);
  }
  look.muzzle = Mix(look.fur, s.muzzle * brightness, s.muzzle_mix);
  look.coat = draws.Chance(s.coat_chance);
  look.extra = draws.Chance(s.extra_chance);
  return look;
}

void DrawEars(Painter& p, const Look& look, Draws& draws) {
  const Species& s = look.species;
  const float a = s.aspect;
  const float e = s.ear_size;
  const Rgb ear = (s.extras & kDarkEars) ? Rgb(35, 30, 28) : Scale(look.fur, 0.85f);
  const Rgb inner = Mix(look.fur, Rgb(230, 170, 160), 0.5f);
  for (float side : {-1.f, 1.f}) {
    switch (s.ears) {
      case Ears::kPointed: {
        const float tip_x = side * a * (0.62f + 0.1f * draws.UniformF());
        const float tip_y = -0.95f - 0.5f * e;
        p.Polygon({{side * 0.2f * a, -0.85f}, {tip_x, tip_y}, {side * 0.85f * a, -0.45f}}, ear);
        p.Polygon({{side * 0.33f * a, -0.8f},
                   {tip_x * 0.93f, tip_y * 0.85f - 0.05f},
                   {side * 0.72f * a, -0.55f}},
                  (s.extras & kDarkEars) ? Rgb(30, 25, 22) : inner);
        break;
      }
      case Ears::kFloppy:
        p.Ellipse(side * (a * 0.95f + 0.08f), 0.05f, 0.26f * e, 0.62f * e, side * 12.f,
                  Scale(look.fur, 0.72f));
        break;
      case Ears::kRound:
        p.Circle(side * 0.62f * a, -0.8f, 0.24f * e, ear);
        p.Circle(side * 0.62f * a, -0.8f, 0.13f * e,
                 (s.extras & kDarkEars) ? ear : Scale(look.fur, 0.6f));
        break;
      case Ears::kFan:
        p.Ellipse(side * (a + 0.38f * e), -0.05f, 0.55f * e, 0.8f * e, side * 8.f,
                  Scale(look.fur, 0.93f));
        p.Ellipse(side * (a + 0.38f * e), -0.05f, 0.55f * e, 0.8f * e, side * 8.f,
                  Scale(look.fur, 0.7f), /*outline=*/0.05f);
        break;
      case Ears::kSide:
        p.Circle(side * (a + 0.05f), -0.05f, 0.22f * e, Mix(look.fur, look.muzzle, 0.6f));
        break;
    }
  }
}

// The face outline: an ellipse with, for long-chinned species, a tapering lower part.
void DrawFaceShape(Painter& p, const Species& s, const Rgb& color) {
  p.Ellipse(0.f, 0.f, s.aspect, 1.f, 0.f, color);
  if (s.chin > 0.05f) {
    p.Polygon({{-s.aspect * 0.9f, 0.3f}, {0.f, 1.f + 0.45f * s.chin}, {s.aspect * 0.9f, 0.3f}},
              color);
  }
}

void DrawCoat(Painter& p, const Look& look, Draws& draws) {
  const Species& s = look.species;
  const float a = s.aspect;
  const Rgb color = s.coat == Coat::kTabby ? Scale(look.fur, 0.55f) : s.coat_color;
  switch (s.coat) {
    case Coat::kPlain:
      break;
    case Coat::kStripes:
    case Coat::kTabby: {
      const bool tabby = s.coat == Coat::kTabby;
      const int per_side = tabby ? 3 + draws.Int(2) : 5 + draws.Int(4);
      const float width = tabby ? 0.045f : 0.085f;
      for (float side : {-1.f, 1.f}) {
        for (int k = 0; k < per_side; ++k) {
          const float y = draws.UniformF(-0.8, 0.75);
          const float length = draws.UniformF(0.3, 0.65) * a;
          const float bend = draws.NormalF(0.08);
          const float x0 = side * a * 1.05f;
          p.Polyline({{x0, y},
                      {x0 - side * length * 0.5f, y + bend},
                      {x0 - side * length, y + bend * 2.5f}},
                     width * draws.UniformF(0.7, 1.3), color);
        }
      }
      for (float x : {-0.16f, 0.f, 0.16f}) {  // Forehead.
        p.Line(x, -0.98f, x * 0.7f, -0.55f - draws.UniformF(0, 0.1), width, color);
      }
      break;
    }
    case Coat::kSpots: {
      const int count = static_cast<int>(28 / s.coat_scale) + draws.Int(12);
      for (int k = 0; k < count; ++k) {
        const float x = draws.UniformF(-a, a);
        const float y = draws.UniformF(-1, 1);
        p.Circle(x, y, static_cast<float>(draws.Uniform(0.035, 0.06) * s.coat_scale), color);
      }
      break;
    }
    case Coat::kRosettes: {
      const int count = static_cast<int>(16 / (s.coat_scale * s.coat_scale)) + draws.Int(6);
      for (int k = 0; k < count; ++k) {
        const float x = draws.UniformF(-a, a);
        const float y = draws.UniformF(-1, 1);
        const float r = static_cast<float>(draws.Uniform(0.06, 0.1) * s.coat_scale);
        const float start = draws.UniformF(0, 120);
        for (int arc = 0; arc < 3; ++arc) {  // A broken ring.
          p.Ellipse(x, y, r, r, 0.f, color, /*outline=*/0.03f, start + 120.f * arc,
                    start + 120.f * arc + 85.f);
        }
        if (s.coat_scale > 1.15f) p.Circle(x, y, r * 0.25f, color);  // Jaguar's inner dot.
      }
      break;
    }
    case Coat::kPatches: {
      const int count = 1 + draws.Int(2);
      for (int k = 0; k < count; ++k) {
        const float x = draws.UniformF(-a, a);
        const float y = draws.UniformF(-1, 0.6);
        const float half_width = draws.UniformF(0.3, 0.6);
        const float half_height = draws.UniformF(0.25, 0.5);
        p.Ellipse(x, y, half_width, half_height, draws.UniformF(0, 180), color);
      }
      break;
    }
  }
}

void DrawFeatures(Painter& p, const Look& look, Draws& draws) {
  const Species& s = look.species;
  const float a = s.aspect;
  if (s.extras & kFacialSkin) p.Ellipse(0.f, 0.12f, a * 0.72f, 0.8f, 0.f, look.muzzle);
  // Muzzle.
  const float muzzle_y = 0.3f + 0.25f * s.snout;
  const float muzzle_w = 0.25f + 0.3f * s.snout_width;
  const float muzzle_h = 0.2f + 0.35f * s.snout;
  p.Ellipse(0.f, muzzle_y, muzzle_w, muzzle_h, 0.f, look.muzzle);
  // Eyes, with panda patches and cheetah tear lines around them.
  const float eye_x = 0.36f * a;
  const float eye_y = -0.15f;
  const float eye_r = (s.extras & kSlitPupils) ? 0.13f : 0.1f;
  for (float side : {-1.f, 1.f}) {
    if (s.extras & kEyePatches) {
      p.Ellipse(side * eye_x, eye_y + 0.04f, 0.2f, 0.14f, side * -35.f, Rgb(25, 22, 20));
    }
    if (s.extras & kTearLines) {
      p.Line(side * (eye_x - 0.06f), eye_y + 0.08f, side * 0.3f, muzzle_y + 0.3f * muzzle_h, 0.05f,
             Rgb(20, 15, 12));
    }
    p.Circle(side * eye_x, eye_y, eye_r, s.eye);
    if (s.extras & kSlitPupils) {
      p.Ellipse(side * eye_x, eye_y, eye_r * 0.22f, eye_r * 0.85f, 0.f, Rgb(10, 10, 10));
    } else {
      p.Circle(side * eye_x, eye_y, eye_r * 0.5f, Rgb(10, 10, 10));
    }
    p.Circle(side * (eye_x - eye_r * 0.3f), eye_y - eye_r * 0.35f, eye_r * 0.18f,
             Rgb(250, 250, 250));
  }
  // Nose and mouth.
  const float nose_y = muzzle_y - muzzle_h * 0.55f;
  const float nose_w = 0.09f + 0.08f * s.snout_width;
  const Rgb nose =
      (s.extras & kSlitPupils) && draws.Chance(0.5) ? Rgb(215, 130, 130) : Rgb(30, 25, 25);
  p.Polygon({{-nose_w, nose_y - 0.05f}, {nose_w, nose_y - 0.05f}, {0.f, nose_y + 0.08f}}, nose);
  const Rgb mouth = Rgb(35, 28, 25);
  p.Line(0.f, nose_y + 0.08f, 0.f, nose_y + 0.2f, 0.025f, mouth);
  p.Line(0.f, nose_y + 0.2f, -0.12f, nose_y + 0.26f, 0.025f, mouth);
  p.Line(0.f, nose_y + 0.2f, 0.12f, nose_y + 0.26f, 0.025f, mouth);
  // Extras.
  if ((s.extras & kWhiskers) && look.extra) {
    for (float side : {-1.f, 1.f}) {
      for (int k = -1; k <= 1; ++k) {
        p.Line(side * 0.18f, nose_y + 0.12f, side * (0.75f + 0.1f * a), nose_y + 0.05f + 0.1f * k,
               0.012f, Rgb(235, 235, 230));
      }
    }
  }
  if (s.extras & kTrunk) {
    const float bend = draws.NormalF(0.25);
    std::vector<cv::Point2f> trunk;
    for (int k = 0; k <= 6; ++k) {
      const float t = k / 6.f;
      trunk.emplace_back(bend * t * t, 0.1f + 1.35f * t);
    }
    for (size_t k = 1; k < trunk.size(); ++k) {
      const float width = 0.34f - 0.2f * (k / 6.f);
      p.Line(trunk[k - 1].x, trunk[k - 1].y, trunk[k].x, trunk[k].y, width, Scale(look.fur, 0.95f));
    }
    if (look.extra) {  // Tusks.
      for (float side : {-1.f, 1.f}) {
        p.Polyline({{side * 0.22f, 0.75f}, {side * 0.32f, 1.0f}, {side * 0.28f, 1.2f}}, 0.07f,
                   Rgb(240, 235, 215));
      }
    }
  }
  if (s.extras & kHorn) {
    const Rgb horn = Rgb(200, 190, 170);
    p.Polygon({{-0.24f, muzzle_y + 0.15f}, {0.24f, muzzle_y + 0.15f}, {0.05f, muzzle_y - 0.8f}},
              horn);
    p.Polygon({{-0.13f, muzzle_y - 0.55f}, {0.13f, muzzle_y - 0.55f}, {0.03f, muzzle_y - 1.0f}},
              Scale(horn, 0.85f));
  }
}

cv::Mat Render(const Species& species, const SyntheticOptions& options, Draws& draws) {
  const int size = options.image_size;
  const double d = options.difficulty;
  cv::Mat image(size, size, CV_8UC3);
  DrawBackground(image, draws, d);

  const Look look = MakeLook(species, draws, d);
  const Species& s = look.species;
  Frame frame;
  const double max_offset = (0.02 + 0.14 * d) * size;
  const double dx = draws.Uniform(-1, 1) * max_offset;
  const double dy = draws.Uniform(-1, 1) * max_offset;
  frame.center =
      cv::Point2f(static_cast<float>(size * 0.5 + dx), static_cast<float>(size * 0.5 + dy));
  frame.radius = static_cast<float>(size * 0.27 * (1.0 - 0.12 * d) *
                                    std::exp(draws.Normal() * (0.04 + 0.14 * d)));
  frame.degrees = static_cast<float>(std::clamp(draws.Normal() * (4.0 + 22.0 * d), -60.0, 60.0));
  frame.cos = static_cast<float>(std::cos(frame.degrees * kPi / 180.0));
  frame.sin = static_cast<float>(std::sin(frame.degrees * kPi / 180.0));
  Painter painter(image, frame);

  // Behind the face: mane, cheek pads, ears.
  if ((s.extras & kMane) && look.extra) {
    const Rgb mane = Mix(Scale(look.fur, 0.75f), Rgb(110, 60, 25), 0.5f);
    std::vector<cv::Point2f> outline;
    const int points = 28;
    for (int k = 0; k < points; ++k) {
      const double angle = 2.0 * kPi * k / points;
      const float r = static_cast<float>((k % 2 == 0 ? 1.55 : 1.35) + draws.Normal() * 0.06);
      outline.emplace_back(static_cast<float>(r * s.aspect * std::cos(angle)),
                           static_cast<float>(0.1 + r * std::sin(angle)));
    }
    painter.Polygon(outline, mane);
  }
  if ((s.extras & kCheekPads) && look.extra) {
    for (float side : {-1.f, 1.f}) {
      painter.Ellipse(side * (s.aspect + 0.05f), 0.05f, 0.35f, 0.7f, 0.f, Scale(look.muzzle, 0.8f));
    }
  }
  DrawEars(painter, look, draws);
  DrawFaceShape(painter, s, look.fur);

  // The coat pattern, kept inside the face.
  if (look.coat && s.coat != Coat::kPlain) {
    cv::Mat layer = image.clone();
    Painter layer_painter(layer, frame);
    DrawCoat(layer_painter, look, draws);
    cv::Mat mask = cv::Mat::zeros(size, size, CV_8UC1);
    Painter mask_painter(mask, frame);
    DrawFaceShape(mask_painter, s, Rgb(255, 255, 255));
    layer.copyTo(image, mask);
  }
  DrawFeatures(painter, look, draws);

  // Occluders in front: leaves, branches, a rock.
  if (draws.Chance(0.55 * d)) {
    const int occluders = 1 + draws.Int(2);
    for (int k = 0; k < occluders; ++k) {
      const Rgb color = NatureColor(draws);
      const float x = draws.UniformF(-1.2, 1.2);
      const float y = draws.UniformF(-1.2, 1.2);
      if (draws.Chance(0.5)) {
        const float half_width = draws.UniformF(0.25, 0.7);
        const float half_height = draws.UniformF(0.15, 0.45);
        painter.Ellipse(x, y, half_width, half_height, draws.UniformF(0, 180), color);
      } else {
        const float y0 = y + draws.NormalF(0.6);
        const float y1 = y + draws.NormalF(0.6);
        painter.Line(x - 1.5f, y0, x + 1.5f, y1, draws.UniformF(0.1, 0.3), color);
      }
    }
  }

  // Camera: exposure, focus, sensor noise.
  const double contrast = std::exp(draws.Normal() * (0.04 + 0.12 * d));
  const double bias = draws.Normal() * (3.0 + 12.0 * d);
  cv::Mat light;
  image.convertTo(light, CV_32FC3, contrast, bias + 127.5 * (1.0 - contrast));
  if (draws.Chance(0.1 + 0.5 * d)) {
    const double sigma = draws.Uniform(0.3, 0.3 + 1.2 * d) * size / 64.0;
    cv::GaussianBlur(light, light, cv::Size(0, 0), sigma);
  }
  const double noise_sigma = 2.0 + 16.0 * d;
  cv::Mat noise(size, size, CV_32FC3);
  cv::RNG noise_rng(draws.Bits() | 1);
  noise_rng.fill(noise, cv::RNG::NORMAL, 0.0, noise_sigma);
  light += noise;
  cv::Mat rgb;
  light.convertTo(rgb, CV_8UC3);  // Rounds and saturates.
  return rgb;
}

}  // namespace

const std::vector<std::string>& SyntheticClassNames(int num_classes) {
  static const std::vector<std::string>* const kThree =
      new std::vector<std::string>{"cat", "dog", "wild"};
  static const std::vector<std::string>* const kSeven =
      new std::vector<std::string>{"cat", "dog", "fox", "leopard", "lion", "tiger", "wolf"};
  static const std::vector<std::string>* const kEleven = new std::vector<std::string>{
      "african_elephant", "amur_leopard", "arctic_fox", "cheetah", "chimpanzee", "jaguar", "lion",
      "orangutan",        "panda",        "panther",    "rhino"};
  static const std::vector<std::string>* const kNone = new std::vector<std::string>();
  switch (num_classes) {
    case 3:
      return *kThree;
    case 7:
      return *kSeven;
    case 11:
      return *kEleven;
    default:
      return *kNone;
  }
}

SyntheticSource::SyntheticSource(const SyntheticOptions& options)
    : options_(options), class_names_(SyntheticClassNames(options.num_classes)) {}

absl::StatusOr<std::unique_ptr<SyntheticSource>> SyntheticSource::Open(
    const SyntheticOptions& options) {
  if (SyntheticClassNames(options.num_classes).empty()) {
    return absl::InvalidArgumentError("the synthetic set has 3, 7 or 11 classes, not " +
                                      std::to_string(options.num_classes));
  }
  if (options.count < 1) {
    return absl::InvalidArgumentError("the synthetic set needs a count of at least 1, not " +
                                      std::to_string(options.count));
  }
  if (options.image_size < 16 || options.image_size > 2048) {
    return absl::InvalidArgumentError("synthetic image size must be 16 to 2048 pixels, not " +
                                      std::to_string(options.image_size));
  }
  if (!(options.difficulty >= 0.0 && options.difficulty <= 1.0)) {  // NaN fails too.
    return absl::InvalidArgumentError("synthetic difficulty must be in [0, 1], not " +
                                      std::to_string(options.difficulty));
  }
  return std::unique_ptr<SyntheticSource>(new SyntheticSource(options));
}

std::string SyntheticSource::describe(int64_t index) const {
  char difficulty[32];
  std::snprintf(difficulty, sizeof(difficulty), "%g", options_.difficulty);
  return "synthetic:" + std::to_string(options_.num_classes) + ":" + std::to_string(options_.seed) +
         ":" + difficulty + ":" + std::to_string(index);
}

absl::StatusOr<cv::Mat> SyntheticSource::Load(int64_t index) const {
  RETURN_IF_ERROR(CheckIndex(index, "the synthetic set"));
  return GuardCv(describe(index), [&] {
    Draws draws(DeriveSeed(options_.seed, /*epoch=*/0, static_cast<uint64_t>(index)));
    const std::string& name = class_names_[label(index)];
    const Species& species =
        name == "wild" ? FindSpecies(kWildSpecies[draws.Int(5)]) : FindSpecies(name);
    return Render(species, options_, draws);
  });
}

}  // namespace fauna
