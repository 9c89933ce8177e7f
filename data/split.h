// Stratified, seeded splits of a dataset into parts such as train/val/test.
#ifndef FAUNA_DATA_SPLIT_H_
#define FAUNA_DATA_SPLIT_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "data/image_source.h"

namespace fauna {

// The order of the indices within each part of a split.
enum class SplitOrder {
  kSorted,    // Ascending, as in the source.
  kShuffled,  // A seeded shuffle (part k's from DeriveSeed(seed, 1, k)).
};

// Splits the items 0..labels.size()-1 into fractions.size() parts (e.g. {0.8, 0.1, 0.1} for
// train/val/test, or {0.7, 0.3}), stratified: each class is split on its own, its part sizes
// being its count times the fractions, rounded by largest remainder (ties go to the part furthest
// below its share over the classes so far, so tiny classes do not all round the same way). Which
// items of a class go to which part is a seeded shuffle (class c's from DeriveSeed(seed, 0, c));
// the same labels, fractions and seed always give the same split. A part may be empty when
// classes are small. InvalidArgument for empty labels, a negative label, no fractions, a negative
// or non-finite fraction, or fractions not summing to 1 (within 1e-6).
//
// Example:
//   ASSIGN_OR_RETURN(std::vector<std::vector<int64_t>> parts,
//                    StratifiedSplit(Labels(*source), {0.8, 0.1, 0.1}, /*seed=*/0));
//   // parts[0]: train indices, parts[1]: val, parts[2]: test.
absl::StatusOr<std::vector<std::vector<int64_t>>> StratifiedSplit(
    const std::vector<int64_t>& labels, const std::vector<double>& fractions, uint64_t seed,
    SplitOrder order = SplitOrder::kSorted);

// The labels of every item of `source`, in index order.
std::vector<int64_t> Labels(const ImageSource& source);

}  // namespace fauna

#endif  // FAUNA_DATA_SPLIT_H_
