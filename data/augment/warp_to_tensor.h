// An affine warp (a rotation, say) and ToTensorInto in one pass: for nearest sampling each output
// pixel is looked up in the 8-bit source and written, normalised, straight into its float plane,
// skipping the warped 8-bit image between them (see bench/augment_bench.cc for its speed against
// cv::warpAffine followed by ToTensorInto). Bilinear warps take those two steps, which beat a
// scalar one-pass loop (0.20 ms against 0.30 ms for 224 px).
#ifndef FAUNA_DATA_AUGMENT_WARP_TO_TENSOR_H_
#define FAUNA_DATA_AUGMENT_WARP_TO_TENSOR_H_

#include <ATen/core/Tensor.h>
#include <opencv2/core/mat.hpp>

#include "absl/status/status.h"
#include "data/augment/geometric.h"
#include "data/augment/to_tensor.h"

namespace fauna {

// Writes ToTensor(`rgb` warped by `warp`) into `destination`, a contiguous float32 CPU tensor of
// shape [3, rgb.rows, rgb.cols]. Bilinear warps give exactly Warped then ToTensorInto. Nearest
// ones compute source coordinates in 32.32 fixed point where cv::warpAffine rounds its own way, so
// a pixel on a rounding tie may come from the neighbouring source pixel. A wrong destination (a
// failed-precondition error), an image other than CV_8UC3, a non-invertible or non-finite warp,
// one that reaches source pixels more than 2^28 away, or a bad normalisation is an error.
//
// Example:
//   ASSIGN_OR_RETURN(AffineWarp warp, DrawRandomRotation(image, 15, Border::kConstant,
//                                                        Sampling::kBilinear, rng));
//   RETURN_IF_ERROR(WarpToTensorInto(image, warp, kImageNetNormalization, batch_place));
absl::Status WarpToTensorInto(const cv::Mat& rgb, const AffineWarp& warp,
                              const Normalization& normalization, const at::Tensor& destination);

}  // namespace fauna

#endif  // FAUNA_DATA_AUGMENT_WARP_TO_TENSOR_H_
