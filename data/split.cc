#include "data/split.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "core/random.h"
#include "core/seed.h"

namespace fauna {

absl::StatusOr<std::vector<std::vector<int64_t>>> StratifiedSplit(
    const std::vector<int64_t>& labels, const std::vector<double>& fractions, uint64_t seed,
    SplitOrder order) {
  if (labels.empty()) return absl::InvalidArgumentError("StratifiedSplit: no labels");
  if (fractions.empty()) return absl::InvalidArgumentError("StratifiedSplit: no fractions");
  double sum = 0;
  for (double fraction : fractions) {
    if (!std::isfinite(fraction) || fraction < 0) {
      return absl::InvalidArgumentError("StratifiedSplit: fraction " + std::to_string(fraction) +
                                        " is not a number in [0, 1]");
    }
    sum += fraction;
  }
  if (std::abs(sum - 1.0) > 1e-6) {
    return absl::InvalidArgumentError("StratifiedSplit: fractions sum to " + std::to_string(sum) +
                                      ", not 1");
  }
  std::map<int64_t, std::vector<int64_t>> by_class;  // Label -> its items, ascending.
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) {
      return absl::InvalidArgumentError("StratifiedSplit: label " + std::to_string(labels[i]) +
                                        " of item " + std::to_string(i) + " is negative");
    }
    by_class[labels[i]].push_back(static_cast<int64_t>(i));
  }

  const size_t parts_count = fractions.size();
  std::vector<std::vector<int64_t>> parts(parts_count);
  std::vector<int64_t> assigned(parts_count, 0);  // Items given to each part so far.
  int64_t seen = 0;                               // Items of the classes done so far.
  for (auto& [label, items] : by_class) {
    const int64_t n = static_cast<int64_t>(items.size());
    seen += n;
    // Largest remainder: floors first, then one more item to the parts with the largest
    // fractional quotas; ties to the part furthest below its share of everything so far.
    std::vector<int64_t> counts(parts_count);
    std::vector<double> remainders(parts_count);
    int64_t given = 0;
    for (size_t k = 0; k < parts_count; ++k) {
      const double quota = fractions[k] * static_cast<double>(n);
      counts[k] = static_cast<int64_t>(std::floor(quota + 1e-9));
      remainders[k] = quota - static_cast<double>(counts[k]);
      given += counts[k];
    }
    std::vector<size_t> ranking(parts_count);
    std::iota(ranking.begin(), ranking.end(), size_t{0});
    const auto deficit = [&](size_t k) {
      return fractions[k] * static_cast<double>(seen) -
             static_cast<double>(assigned[k] + counts[k]);
    };
    std::stable_sort(ranking.begin(), ranking.end(), [&](size_t a, size_t b) {
      if (std::abs(remainders[a] - remainders[b]) > 1e-9) return remainders[a] > remainders[b];
      return deficit(a) > deficit(b) + 1e-9;
    });
    for (int64_t extra = n - given, r = 0; extra > 0; --extra, ++r) {
      ++counts[ranking[static_cast<size_t>(r) % parts_count]];
    }

    std::mt19937_64 rng(DeriveSeed(seed, /*epoch=*/0, static_cast<uint64_t>(label)));
    Shuffle(items, rng);
    int64_t next = 0;
    for (size_t k = 0; k < parts_count; ++k) {
      parts[k].insert(parts[k].end(), items.begin() + next, items.begin() + next + counts[k]);
      next += counts[k];
      assigned[k] += counts[k];
    }
  }
  for (size_t k = 0; k < parts_count; ++k) {
    std::sort(parts[k].begin(), parts[k].end());
    if (order == SplitOrder::kShuffled) {
      std::mt19937_64 rng(DeriveSeed(seed, /*epoch=*/1, static_cast<uint64_t>(k)));
      Shuffle(parts[k], rng);
    }
  }
  return parts;
}

std::vector<int64_t> Labels(const ImageSource& source) {
  std::vector<int64_t> labels(static_cast<size_t>(source.size()));
  for (int64_t i = 0; i < source.size(); ++i) labels[static_cast<size_t>(i)] = source.label(i);
  return labels;
}

}  // namespace fauna
