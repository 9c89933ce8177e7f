// For tests: paths in the per-test temporary folder Bazel provides ($TEST_TMPDIR).
#ifndef FAUNA_CORE_TEST_TMP_H_
#define FAUNA_CORE_TEST_TMP_H_

#include <cstdlib>
#include <string>

namespace fauna {

// $TEST_TMPDIR/<name> (/tmp/<name> when run outside `bazel test`).
inline std::string TestTempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/" + name;
}

}  // namespace fauna

#endif  // FAUNA_CORE_TEST_TMP_H_
