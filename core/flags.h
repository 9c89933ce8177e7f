// Command-line flags of fauna's binaries. LibTorch links gflags and defines flags of its own
// (caffe2_*, torch_jit_*, glog's logtostderr, ...), which gflags' --help lists before a binary's.
// ParseFlags makes --help (and -h) list the binary's fauna flags only, grouped, with the values in
// force (e.g. a recipe's, read from its --flagfile); gflags' --helpfull still lists every flag.
#ifndef FAUNA_CORE_FLAGS_H_
#define FAUNA_CORE_FLAGS_H_

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <gflags/gflags.h>

namespace fauna {

// Flags that --help shows together under `title`, in the order listed, e.g. the sections of a
// binary's flag definitions. Flags in no group are shown under the file that defines them; names
// that are no flag are skipped.
struct FlagGroup {
  std::string title;
  std::vector<std::string> flags;
};

// Sets `usage` as gflags' usage message and parses the command line as
// gflags::ParseCommandLineFlags(argc, argv, /*remove_flags=*/true) does, except for --help (also
// -help, -h): that prints FlagsHelp() for the binary's flags to stdout and exits with 0. Every
// other help flag is gflags' own: --helpfull (every flag, LibTorch's included), --helpshort,
// --helpon, --helpmatch, --helpxml, --helppackage and --version. Call it first thing in main().
// Returns the flags the command line named itself (FlagsNamedOnCommandLine: not those only a
// --flagfile set), for a binary whose typed flags override settings read from elsewhere.
//
// Example:
//   int main(int argc, char** argv) {
//     fauna::ParseFlags(&argc, &argv, "Writes the synthetic set as <out>/<class>/<index>.png",
//                       {{"Data", {"out", "classes", "count"}}, {"Images", {"size", "format"}}});
std::set<std::string> ParseFlags(int* argc, char*** argv, const std::string& usage,
                                 const std::vector<FlagGroup>& groups = {});

// The command line as typed, argv joined by spaces: for a results file, taken before ParseFlags
// removes the flags.
std::string JoinArgv(int argc, char** argv);

// Whether a flag defined in `filename` (gflags' CommandLineFlagInfo::filename, the __FILE__ of its
// DEFINE_*) is fauna's. Bazel compiles the workspace's files as "core/runtime.cc",
// "bazel-out/k8-fastbuild/bin/..."; LibTorch's, glog's and gflags' own flags report
// "./caffe2/...", "./src/logging.cc" (glog), "/build/gflags-.../src/gflags.cc" or an absolute
// path. So: a relative path, outside Bazel's external repositories, whose first folder is none of
// ".", "..", "external" or the source roots of LibTorch and its libraries (c10, caffe2, torch,
// aten, src, glog, gflags).
bool IsProjectFlagFile(std::string_view filename);

// The flags among `known_flags` that the command line `argv[1..argc)` names itself, in any of
// gflags' spellings (--name=value, -name value, --noname for a bool), up to a bare "--"; flags that
// a --flagfile sets are not among them.
std::set<std::string> FlagsNamedOnCommandLine(int argc, const char* const* argv,
                                              const std::set<std::string>& known_flags);

// What FlagsHelp needs besides the flags.
struct FlagsHelpContext {
  // The binary's name, e.g. "train"; shown before the usage unless the usage begins with it, and
  // its main file's flags (those of <program>.cc or <program>_main.cc) come before other files'.
  std::string program;
  // What the binary does; see ParseFlags.
  std::string usage;
  // Flags the command line named itself (see FlagsNamedOnCommandLine): "from the command line".
  std::set<std::string> on_command_line;
  // Whether a --flagfile was read: then a value set but not on the command line is "from
  // --flagfile".
  bool flagfile_read = false;
};

// The text of --help: the usage, then each group of fauna's flags among `flags` (those of
// `groups`, then the others by defining file; see IsProjectFlagFile) as
//
//   What the run is:
//     --name (string, default "train"; now "vgg16_best", from --flagfile)
//         Name of the run (a recipe sets it); default folder runs/<name>.
//
// with the value in force after "now" when it was set (or differs from the default), and a last
// line saying that --helpfull lists every flag. Descriptions are wrapped at 100 columns.
std::string FlagsHelp(const std::vector<gflags::CommandLineFlagInfo>& flags,
                      const std::vector<FlagGroup>& groups, const FlagsHelpContext& context);

}  // namespace fauna

#endif  // FAUNA_CORE_FLAGS_H_
