// Layout: a Lustre file layout as lmover reasons about it, independent of liblustreapi's opaque
// struct, so that policies are plain functions that tests can check without a filesystem.
//
// A plain layout is one component covering the whole file; a PFL (progressive file layout) is
// several components with consecutive extents; Data-on-MDT is a first component whose pattern is
// "mdt". OST indexes are deliberately not part of it: a new filesystem allocates its own objects.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lmover {

// liblustreapi's special values (lustreapi.h), kept numerically identical.
inline constexpr uint64_t kLayoutDefault = 0x1000000000000002ULL;  // LLAPI_LAYOUT_DEFAULT
inline constexpr uint64_t kLayoutWide = 0x1000000000000003ULL;     // LLAPI_LAYOUT_WIDE: all OSTs
inline constexpr uint64_t kPatternRaid0 = 0;                       // LLAPI_LAYOUT_RAID0
inline constexpr uint64_t kPatternMdt = 2;                         // LLAPI_LAYOUT_MDT (Data-on-MDT)
inline constexpr uint64_t kExtentEof = ~0ULL;                      // LUSTRE_EOF
// Component flags of lustre_user.h (enum lov_comp_md_entry_flags) that say how an FLR mirror is
// used: preferred for reads or writes, never resynced, not compressed. The only ones a user sets,
// so the only ones copied (stale and init are the filesystem's own state).
inline constexpr uint32_t kCompStale = 0x1;  // LCME_FL_STALE
inline constexpr uint32_t kCopiedCompFlags = 0x2 | 0x4 | 0x20 | 0x400;  // PREF_RD, PREF_WR, NOSYNC, NOCOMPR

struct LayoutComponent {
  uint64_t start = 0, end = kExtentEof;
  uint64_t stripe_count = kLayoutDefault;
  uint64_t stripe_size = kLayoutDefault;
  uint64_t pattern = kPatternRaid0;
  std::string pool;  // "" = none
  // FLR: the mirror it belongs to (0 = the first, in the layout's order) and its mirror flags
  // (kCopiedCompFlags only). 0 and 0 for a file without mirrors.
  uint32_t mirror = 0;
  uint32_t flags = 0;

  bool operator==(const LayoutComponent&) const = default;
};

struct Layout {
  // One for a plain layout. An FLR (mirrored) file's holds every mirror's components, mirror by
  // mirror, each mirror's extents covering the file from 0 again.
  std::vector<LayoutComponent> components;
  bool composite = false;

  size_t mirror_count() const { return components.empty() ? 1 : components.back().mirror + 1; }
  bool operator==(const Layout&) const = default;
};

// "count=4 size=1M pool=fast" or "[0,1M) mdt size=1M; [1M,EOF) count=4 ...": for messages.
std::string describe(const Layout& layout);

// How the target's layouts are chosen (--layout).
struct LayoutPolicy {
  enum class Kind { kCopy, kSeed, kFixed, kBySize };
  Kind kind = Kind::kCopy;
  // kFixed: the layout every file gets; unset fields stay the filesystem's default.
  std::optional<uint64_t> stripe_count, stripe_size;
  std::string pool;
  // kBySize: (smallest file size, fixed policy) by ascending size; a file takes the last entry
  // its size reaches, and the filesystem default below the first.
  std::vector<std::pair<uint64_t, LayoutPolicy>> by_size;

  // "copy", "seed", "fixed:COUNT[:SIZE[:POOL]]" (COUNT -1 = all OSTs; SIZE with K/M/G), or
  // "by-size:SIZE=COUNT[:SIZE[:POOL]],..." (e.g. by-size:0=1,1G=4,64G=-1:16M). Throws
  // std::invalid_argument naming what is wrong.
  static LayoutPolicy parse(const std::string& text);
  std::string name() const;
};

// The layout a new target file of `size` bytes gets under `policy`, given its source's (nullopt:
// the source has none that could be read, e.g. it is not on Lustre). nullopt: the target
// filesystem's default. A directory's default layout passes no size: by-size then copies it.
std::optional<Layout> target_layout(const LayoutPolicy& policy, const std::optional<Layout>& source,
                                    std::optional<uint64_t> size = std::nullopt);

// Whether a file's `actual` layout (as Lustre instantiated it) is what `wanted` asked for: the same
// components and extents, and every count, size and pool that `wanted` names (a default or
// "all OSTs" count, a default size, are whatever the filesystem made of them).
bool satisfies(const Layout& actual, const Layout& wanted);

// The nearest layout to try when the target refused `layout` (a pool it lacks, more stripes than
// it has OSTs): first the same without pools, then with every stripe count made "all OSTs".
// A mirrored layout, once no pool is left to drop, loses its other mirrors (a target without
// FLR) before any count is widened. nullopt: nothing left to relax (the filesystem's default is what remains).
std::optional<Layout> relaxed(const Layout& layout);

// The size of the chunks a big file of layout `actual` (as Lustre instantiated it) is copied in,
// near `wanted`: rounded up to a multiple of every stripe size the layout names, so that no two
// chunks, on two threads or nodes, ever write into the same stripe of an OST object (and contend
// for its extent lock). Stripe sizes whose least common multiple is absurdly large (over 16x
// `wanted`) give way to the largest of them. `wanted` when the layout names no size.
uint64_t stripe_aligned_chunk(const Layout& actual, uint64_t wanted);

}  // namespace lmover
