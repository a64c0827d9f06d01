#include "lustre/layout.h"

#include <cerrno>
#include <algorithm>
#include <cstdlib>
#include <numeric>
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
  bool mirrored = layout.mirror_count() > 1;
  for (size_t i = 0; i < layout.components.size(); ++i) {
    const LayoutComponent& c = layout.components[i];
    if (!out.empty()) out += "; ";
    if (mirrored && (i == 0 || c.mirror != layout.components[i - 1].mirror)) out += fmt::format("mirror {}: ", c.mirror + 1);
    out += fmt::format("[{},{}) {}", size_text(c.start), size_text(c.end), describe(c));
    if (mirrored && (c.flags & kCopiedCompFlags)) out += fmt::format(" flags={:#x}", c.flags & kCopiedCompFlags);
  }
  return out;
}

namespace {

// "COUNT[:SIZE[:POOL]]" into a fixed policy.
LayoutPolicy parse_fixed(const std::string& spec, const std::string& whole) {
  LayoutPolicy p;
  p.kind = LayoutPolicy::Kind::kFixed;
  std::vector<std::string> parts;
  size_t pos = 0;
  for (;;) {
    size_t colon = spec.find(':', pos);
    parts.push_back(spec.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos));
    if (colon == std::string::npos) break;
    pos = colon + 1;
  }
  if (parts.size() > 3 || parts[0].empty()) throw std::invalid_argument("bad --layout '" + whole + "': COUNT[:SIZE[:POOL]]");
  if (parts[0] == "-1") {
    p.stripe_count = kLayoutWide;
  } else {
    uint64_t count = parse_size(parts[0]);
    if (count == 0 || count > 65535) throw std::invalid_argument("bad stripe count in --layout '" + whole + "'");
    p.stripe_count = count;
  }
  if (parts.size() > 1 && !parts[1].empty()) p.stripe_size = parse_size(parts[1]);
  if (parts.size() > 2) p.pool = parts[2];
  return p;
}

}  // namespace

LayoutPolicy LayoutPolicy::parse(const std::string& text) {
  LayoutPolicy p;
  if (text == "copy") return p;
  if (text == "seed") {
    p.kind = Kind::kSeed;
    return p;
  }
  if (text.rfind("fixed:", 0) == 0) return parse_fixed(text.substr(6), text);
  if (text.rfind("by-size:", 0) == 0) {
    p.kind = Kind::kBySize;
    size_t pos = 8;
    while (pos <= text.size()) {
      size_t comma = text.find(',', pos);
      std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      size_t eq = item.find('=');
      if (eq == std::string::npos) throw std::invalid_argument("bad --layout '" + text + "': by-size:SIZE=COUNT[:SIZE[:POOL]],...");
      uint64_t from = parse_size(item.substr(0, eq));
      if (!p.by_size.empty() && from <= p.by_size.back().first) {
        throw std::invalid_argument("bad --layout '" + text + "': sizes must grow from left to right");
      }
      p.by_size.emplace_back(from, parse_fixed(item.substr(eq + 1), text));
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    return p;
  }
  throw std::invalid_argument("bad --layout '" + text + "': copy, seed, fixed:COUNT[:SIZE[:POOL]] or by-size:SIZE=...");
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
    case Kind::kBySize: {
      std::string out = "by-size:";
      for (const auto& [from, fixed] : by_size) {
        if (out.back() != ':') out += ",";
        out += (from ? size_text(from) : "0") + "=" + fixed.name().substr(6);
      }
      return out;
    }
  }
  return "?";
}

std::optional<Layout> target_layout(const LayoutPolicy& policy, const std::optional<Layout>& source,
                                    std::optional<uint64_t> size) {
  switch (policy.kind) {
    case LayoutPolicy::Kind::kBySize: {
      if (!size) return source;
      const LayoutPolicy* chosen = nullptr;
      for (const auto& [from, fixed] : policy.by_size) {
        if (*size >= from) chosen = &fixed;
      }
      return chosen ? target_layout(*chosen, source) : std::nullopt;
    }
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

bool satisfies(const Layout& actual, const Layout& wanted) {
  if (actual.components.size() != wanted.components.size()) return false;
  for (size_t i = 0; i < wanted.components.size(); ++i) {
    const LayoutComponent& a = actual.components[i];
    const LayoutComponent& w = wanted.components[i];
    if (wanted.composite && (a.start != w.start || a.end != w.end)) return false;
    if (a.pattern != w.pattern || a.pool != w.pool || a.mirror != w.mirror) return false;
    if ((a.flags & kCopiedCompFlags) != (w.flags & kCopiedCompFlags)) return false;
    bool named_count = w.stripe_count != kLayoutDefault && w.stripe_count != kLayoutWide;
    if (w.pattern != kPatternMdt && named_count && a.stripe_count != w.stripe_count) return false;
    if (w.stripe_size != kLayoutDefault && a.stripe_size != w.stripe_size) return false;
  }
  return true;
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
  if (layout.mirror_count() > 1) {  // a target without FLR: the first mirror alone
    std::erase_if(out.components, [](const LayoutComponent& c) { return c.mirror != 0; });
    for (auto& c : out.components) c.flags = 0;
    return out;
  }
  for (auto& c : out.components) {
    if (c.pattern != kPatternMdt && c.stripe_count != kLayoutDefault && c.stripe_count != kLayoutWide) {
      c.stripe_count = kLayoutWide;  // more stripes than the target has OSTs: as wide as it can
      changed = true;
    }
  }
  if (changed) return out;
  return std::nullopt;
}

uint64_t stripe_aligned_chunk(const Layout& actual, uint64_t wanted) {
  constexpr uint64_t kSpecialValues = 0x1000000000000000ULL;  // LLAPI_LAYOUT_DEFAULT and its kin
  uint64_t unit = 1, largest = 1;
  for (const LayoutComponent& c : actual.components) {
    if (c.stripe_size == 0 || c.stripe_size >= kSpecialValues) continue;
    largest = std::max(largest, c.stripe_size);
    uint64_t multiple = 0;
    if (unit != 0 && __builtin_mul_overflow(unit / std::gcd(unit, c.stripe_size), c.stripe_size, &multiple)) multiple = 0;
    unit = multiple;  // 0: past 64 bits, absurd like any past 16x `wanted`
  }
  if (unit == 0 || unit / 16 > wanted) unit = largest;
  return std::max<uint64_t>(1, (wanted + unit - 1) / unit) * unit;
}

}  // namespace lmover
