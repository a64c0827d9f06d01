// Fixed-width little-endian fields in a byte string: the compact form of the id lists, lineage
// tables and tracker checkpoints that travel through the broker (all hosts here are
// little-endian x86-64 or aarch64; the tracker's checkpoint names its format in a magic prefix).
#pragma once

#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace lmover {

template <typename T>
void put_packed(std::string& out, T value) {
  static_assert(std::is_trivially_copyable_v<T>);
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

class PackedReader {
 public:
  PackedReader(const std::string& bytes, const char* what) : bytes_(bytes), what_(what) {}
  template <typename T>
  T take() {
    if (bytes_.size() - at_ < sizeof(T)) throw std::invalid_argument(std::string("truncated ") + what_);
    T value;
    std::memcpy(&value, bytes_.data() + at_, sizeof value);
    at_ += sizeof value;
    return value;
  }
  bool done() const { return at_ == bytes_.size(); }
  size_t position() const { return at_; }
  void skip(size_t n) {
    if (bytes_.size() - at_ < n) throw std::invalid_argument(std::string("truncated ") + what_);
    at_ += n;
  }

 private:
  const std::string& bytes_;
  const char* what_;
  size_t at_ = 0;
};

}  // namespace lmover
