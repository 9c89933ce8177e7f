#include "core/flags.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <gflags/gflags.h>

namespace fauna {
namespace {

constexpr int kHelpWidth = 100;
constexpr std::string_view kFlagIndent = "  ";
constexpr std::string_view kDescriptionIndent = "      ";

// First folders of the sources of LibTorch, glog and gflags, should one of them be compiled with
// plain relative paths (Debian's report "./c10/...", which the "." rule already leaves out).
const std::set<std::string_view>& ForeignRoots() {
  static const auto* const roots = new std::set<std::string_view>{
      ".", "..", "external", "c10", "caffe2", "torch", "aten", "ATen", "src", "glog", "gflags"};
  return *roots;
}

// gflags' help flags other than --help; any of them set leaves the help to gflags.
constexpr const char* kGflagsHelpFlags[] = {"helpfull", "helpshort", "helppackage", "helpxml",
                                            "version",  "helpon",    "helpmatch"};

bool FlagIsSet(const char* name) {
  gflags::CommandLineFlagInfo info;
  if (!gflags::GetCommandLineFlagInfo(name, &info)) return false;
  if (info.type == "bool") return info.current_value == "true";
  return !info.current_value.empty();
}

// "foo/bar/train_main.cc" -> "train_main".
std::string_view Stem(std::string_view filename) {
  const size_t slash = filename.rfind('/');
  if (slash != std::string_view::npos) filename.remove_prefix(slash + 1);
  const size_t dot = filename.find('.');
  return dot == std::string_view::npos ? filename : filename.substr(0, dot);
}

// A value as --help shows it: a string in quotes, a double in its shortest form that reads back
// the same (gflags writes 0.1 as "0.10000000000000001").
std::string Shown(const gflags::CommandLineFlagInfo& flag, const std::string& value) {
  if (flag.type == "string") return "\"" + value + "\"";
  if (flag.type != "double") return value;
  char* end = nullptr;
  const double number = std::strtod(value.c_str(), &end);
  if (end == value.c_str() || *end != '\0') return value;
  char text[32];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(text, sizeof(text), "%.*g", digits, number);
    if (std::strtod(text, nullptr) == number) break;
  }
  return text;
}

// `text` as lines of at most kHelpWidth columns, each after kDescriptionIndent; a word longer than
// a line stays whole.
void AppendWrapped(std::string_view text, std::string* out) {
  std::string line;
  auto flush = [&] {
    if (line.empty()) return;
    out->append(kDescriptionIndent).append(line).append("\n");
    line.clear();
  };
  const size_t room = kHelpWidth - kDescriptionIndent.size();
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find_first_of(" \n", start);
    const std::string_view word =
        text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!word.empty()) {
      if (!line.empty() && line.size() + 1 + word.size() > room) flush();
      if (!line.empty()) line += ' ';
      line.append(word);
    }
    if (end == std::string_view::npos) break;
    if (text[end] == '\n') flush();
    start = end + 1;
  }
  flush();
}

void AppendFlag(const gflags::CommandLineFlagInfo& flag, const FlagsHelpContext& context,
                std::string* out) {
  out->append(kFlagIndent).append("--").append(flag.name);
  out->append(" (").append(flag.type).append(", default ");
  out->append(Shown(flag, flag.default_value));
  if (!flag.is_default || flag.current_value != flag.default_value) {
    out->append("; now ").append(Shown(flag, flag.current_value));
    if (context.on_command_line.count(flag.name) > 0) {
      out->append(", from the command line");
    } else if (context.flagfile_read && !flag.is_default) {
      out->append(", from --flagfile");
    }
  }
  out->append(")\n");
  AppendWrapped(flag.description, out);
}

}  // namespace

bool IsProjectFlagFile(std::string_view filename) {
  if (filename.empty() || filename.front() == '/') return false;
  if (filename.find("/external/") != std::string_view::npos) return false;
  const size_t slash = filename.find('/');
  if (slash == std::string_view::npos) return true;  // A file at the workspace's root.
  return ForeignRoots().count(filename.substr(0, slash)) == 0;
}

std::set<std::string> FlagsNamedOnCommandLine(int argc, const char* const* argv,
                                              const std::set<std::string>& known_flags) {
  std::set<std::string> named;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;  // A program argument (or a flag's value).
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    const std::string name(arg.substr(0, arg.find('=')));
    if (known_flags.count(name) > 0) {
      named.insert(name);
    } else if (name.size() > 2 && name.compare(0, 2, "no") == 0 &&
               known_flags.count(name.substr(2)) > 0) {
      named.insert(name.substr(2));  // --noresume.
    }
  }
  return named;
}

std::string FlagsHelp(const std::vector<gflags::CommandLineFlagInfo>& flags,
                      const std::vector<FlagGroup>& groups, const FlagsHelpContext& context) {
  // "plot_run <run folder>: draws ..." names the program itself.
  const bool named = context.usage.rfind(context.program + " ", 0) == 0 ||
                     context.usage.rfind(context.program + ":", 0) == 0;
  std::string out = (named ? "" : context.program + ": ") + context.usage + "\n";
  std::map<std::string_view, const gflags::CommandLineFlagInfo*> by_name;
  for (const gflags::CommandLineFlagInfo& flag : flags) by_name[flag.name] = &flag;

  std::set<std::string_view> shown;
  for (const FlagGroup& group : groups) {
    std::string text;
    for (const std::string& name : group.flags) {
      const auto found = by_name.find(name);
      if (found == by_name.end() || !shown.insert(found->first).second) continue;
      AppendFlag(*found->second, context, &text);
    }
    if (!text.empty()) out += "\n" + group.title + ":\n" + text;
  }

  // The other project flags by file, the main file's first, then in gflags' order (by file).
  const std::string main_stem = context.program + "_main";
  std::vector<std::string> files;
  std::map<std::string, std::string> text_of_file;
  for (const gflags::CommandLineFlagInfo& flag : flags) {
    if (shown.count(flag.name) > 0 || !IsProjectFlagFile(flag.filename)) continue;
    auto [it, added] = text_of_file.try_emplace(flag.filename);
    if (added) {
      const std::string_view stem = Stem(flag.filename);
      const bool main_file = stem == context.program || stem == main_stem;
      files.insert(main_file ? files.begin() : files.end(), flag.filename);
    }
    AppendFlag(flag, context, &it->second);
  }
  for (const std::string& file : files) {
    out += "\nFlags from " + file + ":\n" + text_of_file[file];
  }
  out += "\n--helpfull lists every flag, those of LibTorch, glog and gflags (--flagfile, ...) "
         "too.\n";
  return out;
}

std::set<std::string> ParseFlags(int* argc, char*** argv, const std::string& usage,
                                 const std::vector<FlagGroup>& groups) {
  gflags::SetUsageMessage(usage);
  std::vector<gflags::CommandLineFlagInfo> flags;
  gflags::GetAllFlags(&flags);
  std::set<std::string> known;
  for (const gflags::CommandLineFlagInfo& flag : flags) known.insert(flag.name);

  // -h is --help (gflags itself rejects it as an unknown flag), unless a binary defines --h.
  static char help_arg[] = "--help";
  if (known.count("h") == 0) {
    for (int i = 1; i < *argc; ++i) {
      if (std::strcmp((*argv)[i], "--") == 0) break;
      if (std::strcmp((*argv)[i], "-h") == 0 || std::strcmp((*argv)[i], "--h") == 0) {
        (*argv)[i] = help_arg;
      }
    }
  }

  FlagsHelpContext context;
  context.usage = usage;
  context.on_command_line = FlagsNamedOnCommandLine(*argc, *argv, known);
  gflags::ParseCommandLineNonHelpFlags(argc, argv, /*remove_flags=*/true);
  context.program = gflags::ProgramInvocationShortName();  // Known once gflags saw argv.

  if (FlagIsSet("help")) {
    bool gflags_help = false;
    for (const char* name : kGflagsHelpFlags) gflags_help = gflags_help || FlagIsSet(name);
    if (!gflags_help) {
      context.flagfile_read = FlagIsSet("flagfile");
      flags.clear();
      gflags::GetAllFlags(&flags);  // Now with the values in force.
      std::fputs(FlagsHelp(flags, groups, context).c_str(), stdout);
      std::fflush(stdout);
      std::exit(0);
    }
    gflags::SetCommandLineOption("help", "false");  // The other help flag answers.
  }
  gflags::HandleCommandLineHelpFlags();
  return context.on_command_line;
}

std::string JoinArgv(int argc, char** argv) {
  std::string command;
  for (int i = 0; i < argc; ++i) command += (i > 0 ? " " : "") + std::string(argv[i]);
  return command;
}

}  // namespace fauna
