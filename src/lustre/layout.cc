#include "lustre/layout.h"

#include <cerrno>
#include <cstdlib>
#include <stdexcept>

#include <fmt/format.h>

namespace lmover {
namespace {

std::string size_text(uint64_t v) {
  if (v == kExtentEof) return "EOF";
  if (v == kLayoutDefault) return "default";
  if (v && v % (1ULL << 30) == 0) return fmt::format("{}G", v >> 30);
  if (v && v % (1ULL << 20) == 0) return fmt::format("{}M", v >> 20);
  if (v && v % (1ULL << 10) == 0) return fmt::format("{}K", v >> 10);
  return std::to_string(v);
}

std::string count_text(uint64_t v) {
  if (v == kLayoutWide) return "-1";
  if (v == kLayoutDefault) return "default";
  return std::to_string(v);
}

std::string describe(const LayoutComponent& c) {
  std::string out = c.pattern == kPatternMdt ? "mdt" : "count=" + count_text(c.stripe_count);
  out += " size=" + size_text(c.stripe_size);
  if (!c.pool.empty()) out += " pool=" + c.pool;
  return out;
}

uint64_t parse_size(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (errno || end == text.c_str()) throw std::invalid_argument("bad size '" + text + "'");
  std::string unit(end);
  if (unit == "K" || unit == "k") v <<= 10;
  else if (unit == "M" || unit == "m") v <<= 20;
  else if (unit == "G" || unit == "g") v <<= 30;
  else if (!unit.empty()) throw std::invalid_argument("bad size '" + text + "' (units: K, M, G)");
  return v;
}

// The original tool's rule: the same stripe count up to 15, all OSTs from 16 on.
constexpr uint64_t kSeedWideFrom = 16;

}  // namespace

std::string describe(const Layout& layout) {
  if (layout.components.empty()) return "default";
  if (!layout.composite) return describe(layout.components.front());
  std::string out;
  for (const auto& c : layout.components) {
    if (!out.empty()) out += "; ";
    out += fmt::format("[{},{}) {}", size_text(c.start), size_text(c.end), describe(c));
  }
  return out;
}

LayoutPolicy LayoutPolicy::parse(const std::string& text) {
  LayoutPolicy p;
  if (text == "copy") return p;
  if (text == "seed") {
    p.kind = Kind::kSeed;
    return p;
  }
  if (text.rfind("fixed:", 0) != 0) {
    throw std::invalid_argument("bad --layout '" + text + "': copy, seed or fixed:COUNT[:SIZE[:POOL]]");
  }
  p.kind = Kind::kFixed;
  std::vector<std::string> parts;
  size_t pos = 6;
  for (;;) {
    size_t colon = text.find(':', pos);
    parts.push_back(text.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos));
    if (colon == std::string::npos) break;
    pos = colon + 1;
  }
  if (parts.size() > 3 || parts[0].empty()) throw std::invalid_argument("bad --layout '" + text + "': fixed:COUNT[:SIZE[:POOL]]");
  if (parts[0] == "-1") {
    p.stripe_count = kLayoutWide;
  } else {
    uint64_t count = parse_size(parts[0]);
    if (count == 0 || count > 65535) throw std::invalid_argument("bad stripe count in --layout '" + text + "'");
    p.stripe_count = count;
  }
  if (parts.size() > 1 && !parts[1].empty()) p.stripe_size = parse_size(parts[1]);
  if (parts.size() > 2) p.pool = parts[2];
  return p;
}

std::string LayoutPolicy::name() const {
  switch (kind) {
    case Kind::kCopy: return "copy";
    case Kind::kSeed: return "seed";
    case Kind::kFixed: {
      std::string out = "fixed:" + count_text(stripe_count.value_or(kLayoutDefault));
      if (stripe_size || !pool.empty()) out += ":" + (stripe_size ? size_text(*stripe_size) : "");
      if (!pool.empty()) out += ":" + pool;
      return out;
    }
  }
  return "?";
}

std::optional<Layout> target_layout(const LayoutPolicy& policy, const std::optional<Layout>& source) {
  switch (policy.kind) {
    case LayoutPolicy::Kind::kCopy: return source;
    case LayoutPolicy::Kind::kSeed: {
      if (!source || source->components.empty()) return std::nullopt;
      // The first component's stripe count is the file's width in the original's terms.
      uint64_t count = source->components.front().stripe_count;
      LayoutComponent c;
      if (count != kLayoutDefault) c.stripe_count = (count >= kSeedWideFrom && count != kLayoutWide) ? kLayoutWide : count;
      return Layout{{c}, false};
    }
    case LayoutPolicy::Kind::kFixed: {
      LayoutComponent c;
      if (policy.stripe_count) c.stripe_count = *policy.stripe_count;
      if (policy.stripe_size) c.stripe_size = *policy.stripe_size;
      c.pool = policy.pool;
      return Layout{{c}, false};
    }
  }
  return std::nullopt;
}

std::optional<Layout> relaxed(const Layout& layout) {
  Layout out = layout;
  bool changed = false;
  for (auto& c : out.components) {
    if (!c.pool.empty()) {
      c.pool.clear();
      changed = true;
    }
  }
  if (changed) return out;
  for (auto& c : out.components) {
    if (c.pattern != kPatternMdt && c.stripe_count != kLayoutDefault && c.stripe_count != kLayoutWide) {
      c.stripe_count = kLayoutWide;  // more stripes than the target has OSTs: as wide as it can
      changed = true;
    }
  }
  if (changed) return out;
  return std::nullopt;
}

}  // namespace lmover
