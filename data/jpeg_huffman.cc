#include "data/jpeg_huffman.h"

#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

// libjpeg's internal interfaces (installed with libjpeg62-turbo-dev): the entropy decoder that
// this replaces, and the warning and error codes it reports through.
#include <jerror.h>
#include <jpegint.h>

namespace fauna {
namespace {

// Codes of up to kLookupBits bits are decoded with one table look-up; longer ones walk the
// canonical code lengths, as libjpeg does. 11 bits: 2,048 entries, fast (measured against 10 and
// 12 on the benchmark's JPEGs; all within 3%).
constexpr int kLookupBits = 11;
constexpr int kLookupSize = 1 << kLookupBits;

// Zeros after the scan: more than one MCU can read (10 blocks x 64 codes x 31 bits < 2,500 bytes),
// so a corrupt scan that reads past its end reads zeros and stays inside the buffer.
constexpr size_t kPaddingBytes = 4096;

// The natural (row-major) position of the k-th coefficient in zigzag order, and 16 more entries
// so that a corrupt run that jumps past the last coefficient lands on it, as in libjpeg.
constexpr int kNaturalOrder[64 + 16] = {
    0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,  12, 19, 26, 33,
    40, 48, 41, 34, 27, 20, 13, 6,  7,  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36,
    29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54,
    47, 55, 62, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63};

// The signed value of the `size` bits in `bits` (JPEG's EXTEND: a leading 0 means negative).
inline int Extend(int bits, int size) {
  return bits - ((((bits >> (size - 1)) & 1) - 1) & ((1 << size) - 1));
}

struct HuffmanTable {
  // What the table was built from, so that an identical table (the usual case: most encoders
  // use the standard ones) is not built again.
  bool built = false;
  uint8_t code_counts[17];
  uint8_t symbols[256];

  // Indexed by the next kLookupBits bits. For an AC code whose value bits fit too: the bits used
  // (code and value) | the zero run << 8 | the value << 16; otherwise 0.
  int32_t code_and_value[kLookupSize];
  // The code's length (0 when it is longer than kLookupBits) and its symbol.
  uint8_t code_length[kLookupSize];
  uint8_t symbol[kLookupSize];
  // For longer codes: the largest code of each length (-1 if none), and the offset from a code
  // of that length to its symbol's index. Index 17 stops the walk.
  int32_t max_code[18];
  int32_t symbol_offset[18];
};

// Builds `table` from libjpeg's `source`. False for a table no valid JPEG has (libjpeg has
// already refused those when the scan started, so this is a second guard).
bool BuildTable(const JHUFF_TBL& source, bool is_ac, HuffmanTable* table) {
  if (table->built && std::memcmp(table->code_counts, source.bits, 17) == 0 &&
      std::memcmp(table->symbols, source.huffval, 256) == 0) {
    return true;
  }
  table->built = false;
  int total = 0;
  for (int length = 1; length <= 16; ++length) total += source.bits[length];
  if (total > 256) return false;
  std::memset(table->code_and_value, 0, sizeof(table->code_and_value));
  std::memset(table->code_length, 0, sizeof(table->code_length));
  std::memset(table->symbol, 0, sizeof(table->symbol));
  int code = 0;
  int index = 0;
  for (int length = 1; length <= 16; ++length) {
    // The codes of each length must fit in it, and none may be all ones (libjpeg's rule).
    if (code + source.bits[length] >= (1 << length)) return false;
    table->symbol_offset[length] = index - code;
    for (int i = 0; i < source.bits[length]; ++i, ++index, ++code) {
      const int symbol = source.huffval[index];
      if (!is_ac && symbol > 15) return false;  // A DC difference has at most 15 bits.
      if (length > kLookupBits) continue;
      const int run = is_ac ? symbol >> 4 : 0;
      const int size = is_ac ? symbol & 15 : 0;
      const int spare = kLookupBits - length;
      for (int rest = 0; rest < (1 << spare); ++rest) {
        const int entry = code << spare | rest;
        table->code_length[entry] = static_cast<uint8_t>(length);
        table->symbol[entry] = static_cast<uint8_t>(symbol);
        if (size != 0 && length + size <= kLookupBits) {
          const int value = Extend((entry >> (spare - size)) & ((1 << size) - 1), size);
          table->code_and_value[entry] =
              (length + size) | run << 8 |
              static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint16_t>(value)) << 16);
        }
      }
    }
    table->max_code[length] = source.bits[length] != 0 ? code - 1 : -1;
    code <<= 1;
  }
  table->max_code[17] = 0x7fffffff;
  std::memcpy(table->code_counts, source.bits, 17);
  std::memcpy(table->symbols, source.huffval, 256);
  table->built = true;
  return true;
}

struct FastDecoder {
  jpeg_entropy_decoder pub;  // First: libjpeg holds a pointer to it.

  // The scan with stuffed zero bytes and restart markers taken out, then kPaddingBytes of zeros.
  std::vector<uint8_t> data;
  size_t data_size = 0;
  // Where each restart interval starts in `data` ({0} without restarts).
  std::vector<size_t> segment_starts;
  size_t segment = 0;
  size_t segment_end_bits = 0;
  unsigned int restarts_to_go = 0;
  // Set when the current restart interval ran out of bits: its remaining MCUs stay zero (gray),
  // as in libjpeg.
  bool exhausted = false;

  // The bit reader: `bits` holds `bit_count` unread bits, first bit at the top; `next` is the
  // first byte not yet in it.
  const uint8_t* next = nullptr;
  uint64_t bits = 0;
  int bit_count = 0;

  int last_dc[MAX_COMPS_IN_SCAN] = {};
  HuffmanTable dc_tables[NUM_HUFF_TBLS];
  HuffmanTable ac_tables[NUM_HUFF_TBLS];
  // Per block of an MCU: its tables and its component's index in the scan.
  // Where an MCU's coefficients go when libjpeg passes no blocks (jpeg_skip_scanlines discards
  // them that way).
  JBLOCK discarded[D_MAX_BLOCKS_IN_MCU];
  const HuffmanTable* block_dc[D_MAX_BLOCKS_IN_MCU] = {};
  const HuffmanTable* block_ac[D_MAX_BLOCKS_IN_MCU] = {};
  int block_component[D_MAX_BLOCKS_IN_MCU] = {};
};

inline uint64_t LoadBigEndian64(const uint8_t* p) {
  uint64_t word;
  std::memcpy(&word, p, sizeof(word));
  return __builtin_bswap64(word);
}

// Tops `bits` up to 56..63 bits without a branch (loads 8 bytes, keeps what fits).
inline void Refill(const uint8_t*& next, uint64_t& bits, int& bit_count) {
  bits |= LoadBigEndian64(next) >> bit_count;
  next += (63 - bit_count) >> 3;
  bit_count |= 56;
}

// The symbol of a code longer than kLookupBits, walking code lengths as libjpeg does; a code
// no table holds is a zero, 17 bits long, as in libjpeg.
inline int DecodeLongCode(const HuffmanTable& table, uint64_t bits, int* length) {
  int l = kLookupBits + 1;
  int code = static_cast<int>(bits >> (64 - l));
  while (code > table.max_code[l]) {
    ++l;
    code = static_cast<int>(bits >> (64 - l));
  }
  *length = l;
  if (l > 16) return 0;
  return table.symbols[(code + table.symbol_offset[l]) & 0xFF];
}

inline int DecodeSymbol(const HuffmanTable& table, uint64_t bits, int* length) {
  const int entry = static_cast<int>(bits >> (64 - kLookupBits));
  *length = table.code_length[entry];
  if (*length != 0) return table.symbol[entry];
  return DecodeLongCode(table, bits, length);
}

void StartSegment(FastDecoder* decoder, size_t segment) {
  decoder->segment = segment;
  const bool exists = segment < decoder->segment_starts.size();
  decoder->next = decoder->data.data() +
                  (exists ? decoder->segment_starts[segment] : decoder->data_size);
  decoder->segment_end_bits =
      8 * (exists && segment + 1 < decoder->segment_starts.size()
               ? decoder->segment_starts[segment + 1]
               : decoder->data_size);
  decoder->bits = 0;
  decoder->bit_count = 0;
  decoder->exhausted = false;
  std::memset(decoder->last_dc, 0, sizeof(decoder->last_dc));
}

boolean DecodeMcu(j_decompress_ptr info, JBLOCKROW* blocks) {
  FastDecoder* decoder = reinterpret_cast<FastDecoder*>(info->entropy);
  if (info->restart_interval != 0) {
    if (decoder->restarts_to_go == 0) {
      StartSegment(decoder, decoder->segment + 1);
      decoder->restarts_to_go = info->restart_interval;
    }
    --decoder->restarts_to_go;
  }
  if (decoder->exhausted) return TRUE;
  const uint8_t* next = decoder->next;
  uint64_t bits = decoder->bits;
  int bit_count = decoder->bit_count;
  // A code and its value bits are at most 16 + 15 bits: 32 bits in hand cover one symbol.
  for (int b = 0; b < info->blocks_in_MCU; ++b) {
    JCOEF* block = blocks != nullptr ? blocks[b][0] : decoder->discarded[b];
    const HuffmanTable& ac = *decoder->block_ac[b];
    if (bit_count < 32) Refill(next, bits, bit_count);
    int length;
    const int size = DecodeSymbol(*decoder->block_dc[b], bits, &length);
    bits <<= length;
    bit_count -= length;
    int difference = 0;
    if (size != 0) {
      difference = Extend(static_cast<int>(bits >> (64 - size)), size);
      bits <<= size;
      bit_count -= size;
    }
    // Unsigned, as libjpeg: corrupt files can repeat differences until an int would overflow.
    int& dc = decoder->last_dc[decoder->block_component[b]];
    dc = static_cast<int>(static_cast<unsigned int>(dc) + static_cast<unsigned int>(difference));
    block[0] = static_cast<JCOEF>(dc);
    for (int k = 1; k < 64; ++k) {
      if (bit_count < 32) Refill(next, bits, bit_count);
      const int entry = static_cast<int>(bits >> (64 - kLookupBits));
      const int32_t both = ac.code_and_value[entry];
      if (both != 0) {
        const int used = both & 0xFF;
        bits <<= used;
        bit_count -= used;
        k += (both >> 8) & 15;
        block[kNaturalOrder[k]] = static_cast<JCOEF>(both >> 16);
        continue;
      }
      const int symbol = DecodeSymbol(ac, bits, &length);
      bits <<= length;
      bit_count -= length;
      const int run = symbol >> 4;
      const int ac_size = symbol & 15;
      if (ac_size == 0) {
        if (run != 15) break;  // End of block.
        k += 15;               // Sixteen zeros.
        continue;
      }
      k += run;
      block[kNaturalOrder[k]] =
          static_cast<JCOEF>(Extend(static_cast<int>(bits >> (64 - ac_size)), ac_size));
      bits <<= ac_size;
      bit_count -= ac_size;
    }
  }
  const size_t position = 8 * static_cast<size_t>(next - decoder->data.data()) -
                          static_cast<size_t>(bit_count);
  if (position > decoder->segment_end_bits) {
    // The scan (or this restart interval) ended early: its remaining MCUs are left zero, as
    // libjpeg does. This MCU read zeros past the scan's end, as in libjpeg, but past a restart
    // interval's end it read the next interval's bits, where libjpeg reads zeros.
    decoder->exhausted = true;
    if (!decoder->pub.insufficient_data) {  // Warned once, as libjpeg without restarts.
      decoder->pub.insufficient_data = TRUE;
      WARNMS(info, JWRN_HIT_MARKER);
    }
  }
  decoder->next = next;
  decoder->bits = bits;
  decoder->bit_count = bit_count;
  return TRUE;
}

// libjpeg calls start_pass once per scan; it has already called its own for this one, and a
// second scan in a file that announced one is an error in libjpeg's own decoder too.
void RefuseAnotherScan(j_decompress_ptr info) { ERREXIT(info, JERR_NOTIMPL); }

// Copies the scan at `source` (its `size` bytes) into decoder->data without stuffing, noting
// where restart intervals start. Returns how many source bytes the scan takes, up to the marker
// that ends it; 0 when no marker does (the bytes end first, or the source holds only part of the
// file) or when restart markers are out of their order.
size_t Unstuff(const uint8_t* source, size_t size, bool restarts, FastDecoder* decoder) {
  // A thread keeps the buffer of its largest recent scan, but not much past kKeepBytes.
  constexpr size_t kKeepBytes = 8 << 20;
  if (decoder->data.capacity() > kKeepBytes && size + kPaddingBytes <= kKeepBytes) {
    std::vector<uint8_t>().swap(decoder->data);
  }
  decoder->data.resize(size + kPaddingBytes);
  decoder->segment_starts.assign(1, 0);
  uint8_t* out = decoder->data.data();
  size_t written = 0;
  size_t i = 0;
  while (true) {
    // No marker in sight: the scan runs to the end of the bytes (a truncated file, or a source
    // that holds only part of it; a last 0xFF's next byte is unknown).
    if (i >= size) return 0;
    const void* marker = std::memchr(source + i, 0xFF, size - i);
    const size_t run = marker != nullptr
                           ? static_cast<size_t>(static_cast<const uint8_t*>(marker) - source) - i
                           : size - i;
    std::memcpy(out + written, source + i, run);
    written += run;
    i += run;
    if (marker == nullptr || i + 1 >= size) return 0;
    const uint8_t code = source[i + 1];
    if (code == 0x00) {  // A stuffed 0xFF.
      out[written++] = 0xFF;
      i += 2;
    } else if (code == 0xFF) {  // A fill byte.
      i += 1;
    } else if (restarts && code >= 0xD0 && code <= 0xD7) {
      if (code - 0xD0 != static_cast<int>((decoder->segment_starts.size() - 1) % 8)) return 0;
      decoder->segment_starts.push_back(written);
      i += 2;
    } else {
      break;
    }
  }
  std::memset(out + written, 0, kPaddingBytes);
  decoder->data_size = written;
  return i;  // At the marker that ends the scan.
}

}  // namespace

bool UseFastHuffmanDecoder(jpeg_decompress_struct* info) {
  if (info->global_state != DSTATE_SCANNING || info->progressive_mode || info->arith_code ||
      info->data_precision != 8 ||
      info->comps_in_scan != info->num_components || info->Ss != 0 || info->Se != 63 ||
      info->Ah != 0 || info->Al != 0 || info->input_scan_number != 1 ||
      info->input_iMCU_row != 0 || info->src == nullptr || info->src->bytes_in_buffer == 0) {
    return false;
  }
  thread_local std::unique_ptr<FastDecoder> thread_decoder;
  try {
    if (thread_decoder == nullptr) thread_decoder = std::make_unique<FastDecoder>();
  } catch (const std::bad_alloc&) {
    return false;  // libjpeg's own decoder needs no more memory.
  }
  FastDecoder* decoder = thread_decoder.get();

  for (int b = 0; b < info->blocks_in_MCU; ++b) {
    const int component = info->MCU_membership[b];
    const jpeg_component_info* c = info->cur_comp_info[component];
    if (c->dc_tbl_no < 0 || c->dc_tbl_no >= NUM_HUFF_TBLS || c->ac_tbl_no < 0 ||
        c->ac_tbl_no >= NUM_HUFF_TBLS) {
      return false;
    }
    const JHUFF_TBL* dc = info->dc_huff_tbl_ptrs[c->dc_tbl_no];
    const JHUFF_TBL* ac = info->ac_huff_tbl_ptrs[c->ac_tbl_no];
    if (dc == nullptr || ac == nullptr ||
        !BuildTable(*dc, /*is_ac=*/false, &decoder->dc_tables[c->dc_tbl_no]) ||
        !BuildTable(*ac, /*is_ac=*/true, &decoder->ac_tables[c->ac_tbl_no])) {
      return false;
    }
    decoder->block_dc[b] = &decoder->dc_tables[c->dc_tbl_no];
    decoder->block_ac[b] = &decoder->ac_tables[c->ac_tbl_no];
    decoder->block_component[b] = component;
  }

  const uint8_t* source = info->src->next_input_byte;
  const size_t size = info->src->bytes_in_buffer;
  const bool restarts = info->restart_interval != 0;
  size_t used = 0;
  try {
    used = Unstuff(source, size, restarts, decoder);
  } catch (const std::bad_alloc&) {
    return false;
  }
  if (used == 0) return false;
  if (restarts) {
    const size_t mcus = static_cast<size_t>(info->MCUs_per_row) * info->MCU_rows_in_scan;
    const size_t intervals = (mcus + info->restart_interval - 1) / info->restart_interval;
    if (decoder->segment_starts.size() != intervals) return false;
  }
  // libjpeg reads the markers after the scan from here on.
  info->src->next_input_byte = source + used;
  info->src->bytes_in_buffer = size - used;

  StartSegment(decoder, 0);
  decoder->restarts_to_go = info->restart_interval;
  decoder->pub.insufficient_data = FALSE;
  decoder->pub.start_pass = RefuseAnotherScan;
  decoder->pub.decode_mcu = DecodeMcu;
  info->entropy = &decoder->pub;
  return true;
}

}  // namespace fauna
