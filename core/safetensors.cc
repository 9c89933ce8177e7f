#include "core/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/status.h"
#include "core/torch_status.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian; this code copies it as is");

namespace fauna {
namespace {

using Json = nlohmann::json;

struct DtypeName {
  const char* name;
  at::ScalarType type;
};

constexpr DtypeName kDtypes[] = {
    {"F64", at::kDouble}, {"F32", at::kFloat}, {"F16", at::kHalf},  {"BF16", at::kBFloat16},
    {"I64", at::kLong},   {"I32", at::kInt},   {"I16", at::kShort}, {"I8", at::kChar},
    {"U8", at::kByte},    {"BOOL", at::kBool},
};

// Known to the format but without a LibTorch 1.13 type.
constexpr const char* kUnsupportedDtypes[] = {"U16", "U32", "U64", "F8_E4M3", "F8_E5M2"};

std::optional<at::ScalarType> TypeOfName(const std::string& name) {
  for (const DtypeName& d : kDtypes) {
    if (name == d.name) return d.type;
  }
  return std::nullopt;
}

std::optional<std::string> NameOfType(at::ScalarType type) {
  for (const DtypeName& d : kDtypes) {
    if (type == d.type) return std::string(d.name);
  }
  return std::nullopt;
}

// One tensor's entry in the header, checked.
struct Entry {
  std::string name;
  at::ScalarType type;
  std::vector<int64_t> shape;
  uint64_t begin;
  uint64_t end;
};

class File {
 public:
  explicit File(int fd) : fd_(fd) {}
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

// Reads exactly `size` bytes at `offset`.
bool ReadAt(int fd, void* out, uint64_t size, uint64_t offset) {
  char* dst = static_cast<char*>(out);
  while (size > 0) {
    ssize_t n = ::pread(fd, dst, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    dst += n;
    size -= static_cast<uint64_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

absl::StatusOr<Entry> ParseEntry(const std::string& name, const Json& value, uint64_t data_size) {
  auto bad = [&name](const std::string& what) {
    return absl::InvalidArgumentError("tensor '" + name + "': " + what);
  };
  if (!value.is_object()) return bad("header entry is not an object");
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!value.contains(key)) return bad(std::string("missing \"") + key + "\"");
  }
  const Json& dtype = value["dtype"];
  if (!dtype.is_string()) return bad("\"dtype\" is not a string");
  const std::string dtype_name = dtype.get<std::string>();
  std::optional<at::ScalarType> type = TypeOfName(dtype_name);
  if (!type) {
    for (const char* unsupported : kUnsupportedDtypes) {
      if (dtype_name == unsupported) {
        return absl::UnimplementedError("tensor '" + name + "': dtype " + dtype_name +
                                        " is not supported by LibTorch 1.13");
      }
    }
    return bad("unknown dtype \"" + dtype_name + "\"");
  }

  Entry entry{name, *type, {}, 0, 0};
  const Json& shape = value["shape"];
  if (!shape.is_array()) return bad("\"shape\" is not an array");
  // Every dimension is checked before the shape is printed: dump() recurses once per level of
  // nesting, and a header of 100,000 nested brackets would overflow the stack.
  for (size_t i = 0; i < shape.size(); ++i) {
    const Json& dim = shape[i];
    if (!dim.is_number_unsigned()) {
      const std::string found =
          dim.is_number() ? dim.dump() : std::string("a JSON ") + dim.type_name();
      return bad("shape has a non-integer or negative dimension: dimension " + std::to_string(i) +
                 " is " + found);
    }
  }
  uint64_t numel = 1;
  for (const Json& dim : shape) {
    uint64_t d = dim.get<uint64_t>();
    if (d > static_cast<uint64_t>(INT64_MAX) || __builtin_mul_overflow(numel, d, &numel)) {
      return bad("shape " + shape.dump() + " is too large");
    }
    entry.shape.push_back(static_cast<int64_t>(d));
  }
  const Json& offsets = value["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned()) {
    return bad("\"data_offsets\" is not a pair of non-negative integers");
  }
  entry.begin = offsets[0].get<uint64_t>();
  entry.end = offsets[1].get<uint64_t>();
  if (entry.begin > entry.end) return bad("data_offsets " + offsets.dump() + " run backwards");
  if (entry.end > data_size) {
    return bad("data_offsets " + offsets.dump() + " reach beyond the data (" +
               std::to_string(data_size) + " bytes)");
  }
  uint64_t nbytes;
  if (__builtin_mul_overflow(numel, static_cast<uint64_t>(at::elementSize(*type)), &nbytes) ||
      nbytes != entry.end - entry.begin) {
    return bad("shape " + shape.dump() + " of " + dtype_name + " needs " +
               std::to_string(numel) + " x " + std::to_string(at::elementSize(*type)) +
               " bytes, but data_offsets " + offsets.dump() + " span " +
               std::to_string(entry.end - entry.begin));
  }
  return entry;
}

// Checks that the entries tile the data exactly: no overlaps, no bytes left over.
absl::Status CheckLayout(std::vector<Entry>& entries, uint64_t data_size) {
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
  });
  uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry& entry : entries) {
    if (entry.begin < covered) {
      return absl::InvalidArgumentError("tensors '" + previous->name + "' and '" + entry.name +
                                        "' overlap in the data");
    }
    if (entry.begin > covered) {
      return absl::InvalidArgumentError("data bytes " + std::to_string(covered) + ".." +
                                        std::to_string(entry.begin) + " belong to no tensor");
    }
    covered = entry.end;
    previous = &entry;
  }
  if (covered != data_size) {
    return absl::InvalidArgumentError("data bytes " + std::to_string(covered) + ".." +
                                      std::to_string(data_size) + " belong to no tensor");
  }
  return absl::OkStatus();
}

absl::StatusOr<SafetensorsContents> ReadSafetensorsFrom(int fd, uint64_t file_size) {
  if (file_size < 8) {
    return absl::InvalidArgumentError("file of " + std::to_string(file_size) +
                                      " bytes is too short for a safetensors header");
  }
  unsigned char length_bytes[8];
  if (!ReadAt(fd, length_bytes, 8, 0)) return absl::DataLossError("cannot read the header length");
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | length_bytes[i];
  if (header_size > file_size - 8) {
    return absl::InvalidArgumentError("header length " + std::to_string(header_size) +
                                      " reaches beyond the end of the file (" +
                                      std::to_string(file_size) + " bytes)");
  }
  if (header_size > kMaxSafetensorsHeaderBytes) {
    return absl::InvalidArgumentError("header length " + std::to_string(header_size) +
                                      " is larger than the limit of " +
                                      std::to_string(kMaxSafetensorsHeaderBytes));
  }
  std::string header(header_size, '\0');
  if (!ReadAt(fd, header.data(), header_size, 8)) {
    return absl::DataLossError("cannot read the header");
  }
  Json json = Json::parse(header, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return absl::InvalidArgumentError("header is not valid JSON");
  if (!json.is_object()) return absl::InvalidArgumentError("header is not a JSON object");

  const uint64_t data_start = 8 + header_size;
  const uint64_t data_size = file_size - data_start;
  SafetensorsContents contents;
  std::vector<Entry> entries;
  for (const auto& [name, value] : json.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) return absl::InvalidArgumentError("__metadata__ is not an object");
      for (const auto& [key, text] : value.items()) {
        if (!text.is_string()) {
          return absl::InvalidArgumentError("__metadata__ value of '" + key + "' is not a string");
        }
        contents.metadata[key] = text.get<std::string>();
      }
      continue;
    }
    ASSIGN_OR_RETURN(Entry entry, ParseEntry(name, value, data_size));
    entries.push_back(std::move(entry));
  }
  RETURN_IF_ERROR(CheckLayout(entries, data_size));

  for (const Entry& entry : entries) {
    ASSIGN_OR_RETURN(at::Tensor tensor, GuardTorch("allocating '" + entry.name + "'", [&] {
                       return at::empty(entry.shape, at::TensorOptions().dtype(entry.type));
                     }));
    if (!ReadAt(fd, tensor.data_ptr(), entry.end - entry.begin, data_start + entry.begin)) {
      return absl::DataLossError("cannot read the data of '" + entry.name + "'");
    }
    if (entry.type == at::kBool && tensor.numel() > 0 &&
        tensor.view(at::kByte).gt(1).any().item<bool>()) {
      return absl::InvalidArgumentError("tensor '" + entry.name + "': BOOL data other than 0 or 1");
    }
    contents.tensors.emplace(entry.name, std::move(tensor));
  }
  return contents;
}

}  // namespace

absl::StatusOr<SafetensorsContents> ReadSafetensors(const std::string& path) {
  File file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.fd() < 0) {
    return ErrnoToStatus(errno, "cannot open " + path);
  }
  struct stat info;
  if (::fstat(file.fd(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return absl::InvalidArgumentError(path + ": not a regular file");
  }
  absl::StatusOr<SafetensorsContents> contents =
      ReadSafetensorsFrom(file.fd(), static_cast<uint64_t>(info.st_size));
  if (!contents.ok()) return Annotate(contents.status(), path);
  return contents;
}

absl::Status WriteSafetensors(const std::string& path, const NamedTensors& tensors,
                              const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name.empty() || name == "__metadata__") {
      return absl::InvalidArgumentError(path + ": invalid tensor name '" + name + "'");
    }
    if (!tensor.defined()) {
      return absl::InvalidArgumentError(path + ": tensor '" + name + "' is undefined");
    }
    std::optional<std::string> dtype = NameOfType(tensor.scalar_type());
    if (!dtype) {
      return absl::InvalidArgumentError(path + ": tensor '" + name + "' has dtype " +
                                        std::string(at::toString(tensor.scalar_type())) +
                                        ", which safetensors cannot hold");
    }
    ASSIGN_OR_RETURN(at::Tensor cpu, GuardTorch("preparing '" + name + "'", [&] {
                       return tensor.detach().to(at::kCPU).contiguous();
                     }));
    const uint64_t nbytes = cpu.nbytes();
    header[name] = {{"dtype", *dtype},
                    {"shape", cpu.sizes().vec()},
                    {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    data.push_back(std::move(cpu));
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');  // Align the data to 8 bytes.
  unsigned char length_bytes[8];
  for (int i = 0; i < 8; ++i) length_bytes[i] = (header_text.size() >> (8 * i)) & 0xff;

  ASSIGN_OR_RETURN(AtomicFileWriter writer, AtomicFileWriter::Open(path));
  RETURN_IF_ERROR(writer.Append(length_bytes, sizeof(length_bytes)));
  RETURN_IF_ERROR(writer.Append(header_text));
  for (const at::Tensor& tensor : data) RETURN_IF_ERROR(writer.Append(tensor.data_ptr(), tensor.nbytes()));
  return writer.Commit();
}

}  // namespace fauna
